"""What a face (the CLI, Dagster) asks the training core for, and the one place where a
run's configuration is composed from it: preset < run file (`--config`) < flags < `--set`.

Kept free of torch imports, so a misspelt preset or key is refused in a blink."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk.errors import ConfigError
from gantk.training.config import RunConfig, check_against_registry, make_config, parse_overrides

if TYPE_CHECKING:
    from gantk.progress import Bars

# Without data, a run trains on the embedded demo data for a budget that fits about
# 5 minutes on 2 CPU cores; pass steps (or data) for a full-length run.
DEMO_STEPS = 500
FLAGS = ("steps", "batch_size", "device", "seed")
# `bar(description)` yields `update(done, total, fields=None)`, like gantk.progress.progress_bar


@dataclass
class RunRequest:
    """A training as a user asks for it: a preset (or a run file naming one), optional
    data and run directory, command-line flags (`None` = not given) and `key=value`
    overrides."""

    preset: str | None
    data: Path | None = None
    out: Path | None = None
    resume: bool = False
    flags: dict[str, Any] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    config_file: Path | None = None

    def to_json(self) -> str:
        raw = asdict(self)
        for key in _PATHS:
            raw[key] = str(raw[key]) if raw[key] else None
        return json.dumps(raw)

    @classmethod
    def from_json(cls, text: str) -> RunRequest:
        raw = json.loads(text)
        for key in _PATHS:
            raw[key] = Path(raw[key]) if raw.get(key) else None
        return cls(**raw)

    def file_layer(self) -> dict[str, Any]:
        """The run file's keys (empty without `--config`)."""
        if self.config_file is None:
            return {}
        from gantk.training.run_file import read_run_file

        return read_run_file(self.config_file)

    def preset_name(self) -> str:
        """The preset given, else the one the run file names."""
        name = self.preset or self.file_layer().get("preset")
        if not name:
            where = f"put preset = \"dcgan\" in {self.config_file}" if self.config_file else \
                "e.g. `gantk run dcgan`"
            raise ConfigError(f"no preset named; pass PRESET or {where}")
        return str(name)

    def cli_args(self) -> list[str]:
        """The same request as `gantk run` arguments (for torchrun's processes)."""
        args = ["run", self.preset_name()]
        for flag, value in (("--data", self.data), ("--out", self.out),
                            ("--config", self.config_file),
                            *((f"--{k.replace('_', '-')}", v) for k, v in self.flags.items())):
            if value is not None:
                args += [flag, str(value)]
        if self.resume:
            args.append("--resume")
        for pair in self.overrides:
            args += ["--set", pair]
        return args

    def user_layers(self) -> list[dict[str, Any]]:
        """What the user typed, weakest first: the run file, flags, then `--set`."""
        unknown = sorted(set(self.flags) - set(FLAGS))
        if unknown:
            raise ConfigError(f"unknown run flag(s) {', '.join(unknown)}; known: "
                              f"{', '.join(FLAGS)}")
        return [self.file_layer(), dict(self.flags), parse_overrides(self.overrides)]


_PATHS = ("data", "out", "config_file")


def check_request(request: RunRequest) -> RunConfig:
    """Everything that can be refused before torch is imported or data is touched:
    unknown preset, keys, values and plugin names. Returns the config as far as it is
    known without the data."""
    from gantk.contract.registry import get_registry

    user = request.user_layers()
    if request.resume:
        return _check_resume_flags(request, user)
    preset = request.preset_name()
    spec = get_registry().preset(preset)
    config = make_config(spec.config, {"preset": preset}, *user)
    check_against_registry(config)
    return config


def _check_resume_flags(request: RunRequest, user: list[dict[str, Any]]) -> RunConfig:
    if request.out is None:
        return make_config(*user)
    from gantk.training.runs import read_run_config

    recorded = read_run_config(request.out)
    if request.data is not None and Path(request.data).resolve() != Path(
            recorded.data or "").resolve():
        raise ConfigError(f"--resume continues {request.out} on the data it was trained on "
                          f"({recorded.data}); drop --data {request.data}, or start a new run "
                          "with --out NEW_DIR to train on other data")
    config = make_config(recorded.model_dump(exclude_none=True), *user)
    check_against_registry(config)
    return config


def compose(request: RunRequest, notify: Callable[[str], None] | None = None,
            bar: Bars | None = None) -> tuple[RunConfig, Path]:
    """The run's full configuration and directory. A fresh run without data gets the demo
    store (converted on first use under `bar`; `notify` hears about it); a resumed run
    starts from its recorded configuration."""
    user = request.user_layers()
    if request.resume:
        from gantk.training.runs import newest_run, read_run_config

        out = request.out or newest_run(request.preset_name())
        if out is None:
            raise ConfigError(f"--resume: no earlier run of preset {request.preset_name()!r} "
                              "found; pass --out DIR")
        check_request(replace(request, out=out))
        layers = [read_run_config(out).model_dump(exclude_none=True)]
    else:
        from gantk.contract.registry import get_registry

        preset = request.preset_name()
        out = request.out or user[0].get("out") or default_out(preset)
        layers = [get_registry().preset(preset).config, {"preset": preset},
                  _data_layer(request, user[0], notify, bar)]
    return make_config(*layers, *user), Path(out)


def _data_layer(request: RunRequest, run_file: dict[str, Any],
                notify: Callable[[str], None] | None, bar: Bars | None) -> dict[str, Any]:
    if request.data is not None:
        return {"data": str(request.data)}
    if run_file.get("data"):
        return {}
    from gantk.ingest.demo_data import default_store

    with (bar or no_bar)("preparing demo data") as update:
        data = default_store(notify=notify or _silent, progress=update)
    layer: dict[str, Any] = {"data": str(data)}
    if request.flags.get("steps") is None and run_file.get("steps") is None:
        if notify:
            notify(f"no --data given: training on the embedded demo store {data} for "
                   f"{DEMO_STEPS} steps (about 5 minutes on 2 CPU cores); pass --steps N for "
                   "longer or --data STORE for your own images")
        layer.update(steps=DEMO_STEPS, epochs=None)
    return layer


def default_out(preset: str) -> Path:
    """A fresh clock-named folder under $GANTK_HOME/runs (`sweep-dcgan-…` for sweeps)."""
    from gantk.home import runs_dir

    return runs_dir() / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"


def no_bar(description: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def _silent(message: str) -> None:
    """Where ranks other than 0 send their notices."""
