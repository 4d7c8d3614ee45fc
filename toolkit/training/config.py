"""The one run configuration shared by the CLI, presets and Dagster.

Invalid values fail before any work starts, with one line per problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gantk.errors import ConfigError

DEFAULT_EVALS = ("fid", "kid", "prdc")
# `--set PREFIX.KEY=VALUE` sets KEY in these RunConfig tables of plugin options
OPTION_TABLES = {"model": "model", "loss": "loss_options"}
# `--set KEY=null` switches these off (elsewhere an absent value means "not given")
OFF_VALUES = {"ema": 0.0, "eval_every": 0, "best_metric": "none"}


class RunConfig(BaseModel):
    """Everything that determines a training run. Paper defaults (DCGAN, Radford et al.)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    preset: str | None = None
    architecture: str = "dcgan"
    loss: str = "nonsaturating"
    data: Path | None = None
    resolution: int | None = Field(None, description="image size; default: the store's")
    channels: int | None = Field(None, description="1 or 3; default: the store's")
    nz: int = Field(100, gt=0)
    z_dist: Literal["uniform", "normal"] = "uniform"
    model: dict[str, Any] = Field(default_factory=dict, description="architecture options")
    loss_options: dict[str, Any] = Field(default_factory=dict, description="loss options "
                                         "(--set loss.KEY=VALUE)")
    batch_size: int = Field(128, gt=0)
    lr: float = Field(2e-4, gt=0)
    lr_d: float | None = Field(None, gt=0, description="discriminator lr; default: lr")
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0, description="L2 added to gradients (paper: 1e-5)")
    steps: int | None = Field(None, gt=0, description="generator updates")
    epochs: float | None = Field(None, gt=0)
    seed: int = 0
    device: str = "auto"
    num_workers: int | None = Field(None, ge=0, description="DataLoader workers; default: auto")
    threads: int | None = Field(None, gt=0)
    channels_last: bool | None = Field(None, description="NHWC tensors; default: on for "
                                       "CPU and CUDA")
    amp: bool | None = Field(None, description="autocast on CUDA; default: on for CUDA")
    compile: bool = False
    sync_batchnorm: bool = False
    log_every: int = Field(10, gt=0)
    sample_every: int = Field(100, gt=0)
    checkpoint_every: int = Field(500, gt=0)
    keep_checkpoints: int = Field(3, gt=0)
    ema: float = Field(0.0, ge=0, lt=1, description="EMA decay of the generator used for "
                       "samples and scores (0: off)")
    evals: list[str] = Field(default_factory=list, description="evals run every eval_every "
                             "steps (default with eval_every: fid, kid, prdc)")
    eval_every: int = Field(0, ge=0, description="score samples every N steps (0: never)")
    eval_n: int = Field(2000, gt=1, description="images per in-training evaluation")
    eval_options: dict[str, Any] = Field(default_factory=dict, description="options for the "
                                         "in-training evals, e.g. network=PATH")
    best_metric: str | None = Field(None, description="keep checkpoints/best.safetensors by "
                                    "this score (default with eval_every: fid when it is "
                                    "scored; none: keep no best checkpoint)")
    trackers: list[str] = Field(default_factory=list, description="metric sinks besides "
                                "metrics.jsonl, e.g. tensorboard, mlflow (gantk run --log NAME)")
    out: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _best_by_fid(cls, data: Any) -> Any:
        """Scoring during training keeps the best checkpoint by FID unless told otherwise."""
        if (isinstance(data, dict) and data.get("eval_every") and data.get("best_metric") is None
                and "fid" in (data.get("evals") or DEFAULT_EVALS)):
            data = {**data, "best_metric": "fid"}
        return data

    def keeps_best(self) -> bool:
        return self.best_metric not in (None, "none")

    @field_validator("ema", mode="before")
    @classmethod
    def _ema(cls, value: Any) -> Any:
        return 0.0 if value is None or value is False else value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in ("auto", "cpu", "cuda", "mps") and not value.startswith("cuda:"):
            raise ValueError("must be auto, cpu, cuda or cuda:N")
        return value

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: int | None) -> int | None:
        if value is not None and (value < 8 or value & (value - 1)):
            raise ValueError("must be a power of two of at least 8 (e.g. 32 or 64)")
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: int | None) -> int | None:
        if value is not None and value not in (1, 3):
            raise ValueError("must be 1 or 3")
        return value

    def d_lr(self) -> float:
        return self.lr_d if self.lr_d is not None else self.lr

    def scored_evals(self) -> list[str]:
        """The evals a training runs on its schedule (none when eval_every is 0)."""
        if not self.eval_every:
            return []
        return list(self.evals) or list(DEFAULT_EVALS)


def problems_text(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "config"
        given = err.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        lines.append(f"{where}: {err['msg']}{shown}")
    return "; ".join(lines)


def make_config(*layers: dict[str, Any]) -> RunConfig:
    """Merge override layers (later wins; `model` dicts merge) into a validated RunConfig."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            if key in OPTION_TABLES.values() and isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
    try:
        return RunConfig(**merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid run configuration: {problems_text(exc)}") from None


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`key=value` strings into a dict (values as JSON when they parse)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected key=value, got {pair!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn `key=value` strings (values as JSON when they parse) into a layer.

    `model.ngf=32` sets an architecture option, `loss.gp_weight=5` a loss option.
    """
    layer: dict[str, Any] = {}
    for key, value in parse_options(pairs).items():
        prefix, dot, option = key.partition(".")
        if dot and prefix in OPTION_TABLES:
            layer.setdefault(OPTION_TABLES[prefix], {})[option] = value
        elif key not in RunConfig.model_fields:
            known = ", ".join(sorted(RunConfig.model_fields))
            raise ConfigError(f"--set: unknown key {key!r}; known keys: {known}")
        else:
            layer[key] = OFF_VALUES.get(key) if value is None else value
    return layer


def check_against_registry(config: RunConfig) -> None:
    """Problems only the plugin registry can see: unknown names, unsupported sizes."""
    from gantk.contract.registry import get_registry
    from gantk.errors import RegistryError

    registry = get_registry()
    problems = []
    for kind, name in (("architecture", config.architecture), ("loss", config.loss)):
        try:
            registry.get(kind, name)
        except RegistryError as exc:
            problems.append(str(exc))
    if config.evals and not config.eval_every:
        problems.append("evals run during training only: add --set eval_every=N (steps)")
    scored, unavailable = [], {}
    for name in config.scored_evals():
        try:
            spec = registry.eval(name)
        except RegistryError as exc:
            problems.append(str(exc))
            continue
        if spec.score is None:
            live = ", ".join(s.name for s in registry.evals() if s.score) or "none"
            problems.append(f"eval {name!r} cannot score a live generator, so it cannot run "
                            f"during training; evals that can: {live}")
        elif not config.eval_options and spec.unavailable and (why := spec.unavailable()):
            unavailable.setdefault(why, []).append(name)
        scored.append(spec)
    for why, names in unavailable.items():
        problems.append(f"evals {', '.join(names)} cannot run here: {why}; or give them "
                        "options with --set eval_options='{...}' (e.g. a network PATH)")
    if config.keeps_best() and not problems:
        offered = [m for spec in scored for m in spec.scores]
        if config.best_metric not in offered:
            have = ", ".join(offered) or "none: set eval_every=N"
            problems.append(f"best_metric {config.best_metric!r} is not a score of the evals "
                            f"run during training ({have}); pick one of them")
    problems += _tracker_problems(registry, config.trackers)
    if not problems:
        from gantk.contract.losses import configured_loss
        from gantk.contract.options import validate_options

        try:
            configured_loss(config.loss, config.loss_options)
        except ConfigError as exc:
            problems.append(f"{exc} (set them with --set loss.KEY=VALUE)")
        arch = registry.architecture(config.architecture)
        try:
            validate_options(arch, "architecture", config.model)
        except ConfigError as exc:
            problems.append(f"{exc} (set them with --set model.KEY=VALUE)")
        for spec in scored:  # the in-training evals share eval_options
            try:
                validate_options(spec, "eval", {"n": config.eval_n, **config.eval_options})
            except ConfigError as exc:
                problems.append(f"{exc} (set them with --set eval_options='{{...}}')")
        if config.resolution is not None and config.resolution not in arch.resolutions:
            sizes = ", ".join(map(str, arch.resolutions))
            problems.append(f"architecture {arch.name!r} cannot make {config.resolution}x"
                            f"{config.resolution} images; it supports {sizes}")
        if config.channels is not None and config.channels not in arch.channels:
            problems.append(f"architecture {arch.name!r} does not support {config.channels} "
                            f"channels; it supports {arch.channels}")
    if problems:
        raise ConfigError("; ".join(problems))


def _tracker_problems(registry: Any, names: list[str]) -> list[str]:
    """Unknown trackers, and trackers whose optional package is missing here."""
    from gantk.errors import RegistryError

    problems = []
    for name in names:
        try:
            spec = registry.get("tracker", name)
        except RegistryError as exc:
            problems.append(str(exc))
            continue
        why = spec.unavailable() if spec.unavailable else None
        if why:
            problems.append(f"tracker {name!r} cannot run here: {why}")
    return problems
