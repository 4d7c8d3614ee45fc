"""The plugin contracts: what each `register_*` hook hands to `register(...)`.

Kept free of torch imports so that listing plugins stays fast; builders and functions
import what they need when called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import torch
    from PIL import Image
    from pydantic import BaseModel

    from gantk.training.config import RunConfig
    from gantk.training.sinks import Sink

# `options` on a spec: a pydantic model class, or a function returning one (so that the
# module registering the spec need not import pydantic at start-up). The core validates
# the user's options against it before any work (gantk.contract.options).

# What a model may offer beyond the contract every architecture meets; evals and
# visualizations name the ones they need in `EvalSpec.requires`.
CAPABILITIES: dict[str, str] = {
    "features": "discriminator.features(x) -> list[Tensor]: each hidden layer's activations, "
                "batch first (conv maps or flat vectors)",
    "conv-features": "features(x) gives (N, C, H, W) maps, one per conv layer (spatial "
                     "probes: guided backprop)",
    "hidden": "generator.hidden(z) -> list[Tensor]: each layer's output, in order",
    "layers": "generator.layers() -> list[nn.Module]: the modules whose outputs hidden(z) "
              "returns, in the same order (forward hooks go there)",
}


@dataclass(frozen=True)
class ArchitectureSpec:
    """A generator/discriminator pair.

    `build(config)` returns `(generator, discriminator)`. The generator maps z `(N, nz)` to
    images `(N, C, H, W)` in [-1, 1] and exposes `.nz`; the discriminator maps images to
    logits `(N,)`. `capabilities` names what else the pair offers (see `CAPABILITIES`);
    `options` validates `config.model` (see `gantk.contract.options`).
    """

    name: str
    build: Callable[[RunConfig], tuple[torch.nn.Module, torch.nn.Module]]
    resolutions: tuple[int, ...]
    channels: tuple[int, ...] = (1, 3)
    description: str = ""
    capabilities: tuple[str, ...] = ("features",)
    options: type[BaseModel] | Callable[[], type[BaseModel]] | None = None


@dataclass(frozen=True)
class LossSpec:
    """An adversarial loss on discriminator logits.

    `d_loss(real_logits, fake_logits)` and `g_loss(fake_logits)` return scalars;
    `penalty(discriminator, real, fake)` (optional) is added to the discriminator loss;
    the trainer runs `critic_steps` discriminator updates per generator update.
    `needs_real_logits=True` asks for D's logits on the step's real images in the
    generator step too: then the trainer calls `g_loss(fake_logits, real_logits)` (the
    relativistic family); other losses cost no extra forward pass.
    `options` validates `config.loss_options` (`--set loss.KEY=VALUE`) and
    `configure(spec, options)` returns the loss the trainer uses with the parsed options
    applied (e.g. a penalty weight bound with `functools.partial`); a loss without
    `options` takes none.
    """

    name: str
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[..., torch.Tensor]
    penalty: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    critic_steps: int = 1
    description: str = ""
    needs_real_logits: bool = False
    options: type[BaseModel] | Callable[[], type[BaseModel]] | None = None
    configure: Callable[[LossSpec, Any], LossSpec] | None = None


@dataclass
class EvalContext:
    """What an evaluation or visualization receives: a trained run and where to write.

    `step` picks the checkpoint (None: the latest, "best": checkpoints/best.safetensors,
    or a step number) and `generator` the weights that generate ("ema" or "raw"; None:
    the EMA generator when the run kept one). `gantk eval/viz -o step=… -o generator=…`
    set them; plugins never see these two options."""

    run_dir: Path
    out_dir: Path
    device: str
    options: dict[str, Any] = field(default_factory=dict)
    data: Path | None = None
    seed: int = 0
    step: int | str | None = None
    generator: str | None = None

    def load(self) -> Any:
        """The trained run (config, generator, discriminator) in eval mode on `device`."""
        from gantk.training.runs import load_run, run_checkpoint

        return load_run(self.run_dir, device=self.device,
                        checkpoint=run_checkpoint(self.run_dir, self.step),
                        generator=self.generator)


@dataclass
class ScoreContext:
    """What an eval's `score` receives: a live generator to score in-process (inside a
    training, or a loaded run), no run directory and no files read twice.

    `generate(z)` returns images in [-1, 1] for a batch of the fixed latent set `z`
    (the same every evaluation, so scores compare step to step). Evals scored together
    share `memo`: `shared(key, compute)` computes a value (the generated features) once
    per evaluation; `shared(key, compute, lasting=True)` keeps it in `lasting`, which a
    training hands to every evaluation (a feature network, the real features).
    `describe(...)` records what produced the scores (network, N) beside them;
    `progress(description)` yields `update(done, total)` (or None without a bar)."""

    generate: Callable[[torch.Tensor], torch.Tensor]
    z: torch.Tensor
    data: Path
    device: str
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    memo: dict[Hashable, Any] = field(default_factory=dict)
    lasting: dict[Hashable, Any] = field(default_factory=dict)
    about: dict[str, Any] = field(default_factory=dict)
    bar: Callable[[str], contextlib.AbstractContextManager[Any]] | None = None

    def shared(self, key: Hashable, compute: Callable[[], Any], lasting: bool = False) -> Any:
        memo = self.lasting if lasting else self.memo
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    def describe(self, **facts: Any) -> None:
        self.about.update(facts)

    def progress(self, description: str) -> contextlib.AbstractContextManager[Any]:
        return self.bar(description) if self.bar else contextlib.nullcontext(None)


@dataclass
class EvalResult:
    """Metrics (floats, so dashboards can plot them), figures (PNG paths) and other files."""

    metrics: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""


@dataclass(frozen=True)
class EvalSpec:
    """An evaluation (`kind="eval"`) or visualization (`kind="visualization"`).

    `needs` names what it requires: "model" (a trained run) and/or "data" (a labeled or
    real-image store). `baseline` (optional) is the value of `baseline_metric` it must
    reach, checked by the pipeline's asset checks. `required_options` names options the
    plugin cannot run without (checked before it runs; the Dagster demo job skips it).
    `unavailable()` (optional) says why the plugin cannot run with its defaults here (a
    missing optional package), or returns None; the demo job skips it then. `requires`
    names the architecture capabilities it uses (see `CAPABILITIES`): a run whose
    architecture lacks one is refused before any work. `options` validates `ctx.options`.
    `live(ctx, discriminator, step)` (optional) evaluates the discriminator a training
    holds right now, without a checkpoint, writing where `run` would; it must leave the
    module as it found it (an in-training evaluation).
    `score(ScoreContext)` (optional) scores a live generator in-process, which lets a
    training run the eval on a schedule (`--set eval_every=N`); `scores` names the metrics
    it returns that may pick the best checkpoint (`--set best_metric=NAME`), each better
    when higher if `higher_is_better`.
    """

    name: str
    run: Callable[[EvalContext], EvalResult]
    kind: Literal["eval", "visualization"] = "eval"
    needs: tuple[str, ...] = ("model",)
    description: str = ""
    baseline_metric: str | None = None
    baseline: float | None = None
    higher_is_better: bool = True
    required_options: tuple[str, ...] = ()
    unavailable: Callable[[], str | None] | None = None
    live: Callable[[EvalContext, Any, int], EvalResult] | None = None
    requires: tuple[str, ...] = ()
    options: type[BaseModel] | Callable[[], type[BaseModel]] | None = None
    score: Callable[[ScoreContext], EvalResult] | None = None
    scores: tuple[str, ...] = ()

    def runs_without_options(self) -> bool:
        """True when the plugin can run here with no options (what a demo can do)."""
        return not self.required_options and not (self.unavailable and self.unavailable())


@dataclass(frozen=True)
class Record:
    """One input of a dataset source: a stable source key, the image, an optional label.

    `image` is encoded bytes, a file path (read by the ingest worker, so the reading runs
    in parallel too), a decoded PIL image or a uint8 array. `key` names the original input
    (an LSUN id, a path relative to SRC, an archive member) and must be unique per input.
    """

    key: str
    image: bytes | Path | Image.Image | np.ndarray
    label: int | None = None
    whole: bool = False  # store as is even if the source finds regions (pre-aligned faces)


@dataclass(frozen=True)
class Skipped:
    """An input a source found but could not read (a broken archive member, a file its
    list names but the folder lacks); ingest lists it in the report with `reason`."""

    key: str
    reason: str


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset source. `open(path, options)` returns an iterable of `Record`s.

    `length(path, options)` (optional) is a cheap length hint for progress bars;
    `default_resolution` and `channels` describe what ingest produces by default;
    `transform` is "center-crop" (crop the largest centered square, then resize) or
    "pad" (pad to a square, for small images such as Fashion-MNIST's 28x28).
    `crops(rgb_image, options)` (optional, a module-level function: it runs in ingest's
    worker processes) turns one decoded input into `[(suffix, region)]`, e.g. detected
    faces; each region is stored under the source key `f"{key}#{suffix}"`.
    `classes(path, options)` (optional) names the labels (index -> name) for the metadata.
    `open` may also yield `Skipped(key, reason)` for inputs it cannot read.
    `demo_rank` (optional) offers the source as the embedded demo data a run without
    `--data` trains on: the installed source (one whose `default_path()` finds its files)
    with the lowest rank serves. `dedup` asks the pipeline to de-duplicate the store before
    training, as the paper did for LSUN. `options` validates the `-o key=value` options
    (see `gantk.contract.options`).
    """

    name: str
    open: Callable[[Path, dict[str, Any]], Iterable[Record | Skipped]]
    description: str = ""
    length: Callable[[Path, dict[str, Any]], int | None] | None = None
    default_resolution: int = 64
    channels: int = 3
    transform: Literal["center-crop", "pad"] = "center-crop"
    default_path: Callable[[], Path | None] | None = None
    crops: Callable[[Image.Image, dict[str, Any]], list[tuple[str, Image.Image]]] | None = None
    classes: Callable[[Path, dict[str, Any]], list[str] | None] | None = None
    demo_rank: int | None = None
    dedup: bool = False
    options: type[BaseModel] | Callable[[], type[BaseModel]] | None = None


@dataclass(frozen=True)
class PresetSpec:
    """A named run configuration: overrides applied on top of `RunConfig` defaults."""

    name: str
    config: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class TrackerSpec:
    """A metric sink a run can log to besides `metrics.jsonl` (`gantk run --log NAME`,
    the run config's `trackers` list).

    `open(run_dir, config)` returns a `gantk.training.sinks.Sink`: it hears the run's
    config once (`start`), the scalars of each logging interval, the scores of each
    evaluation, every sample grid, and `close()`. It is called on rank 0 only, after the
    run directory exists, and must never need a login or the network. `unavailable()`
    (optional) says why it cannot run here (a missing optional package) or returns None;
    a run that asks for it is refused before any work starts. A tracker that raises is
    reported once and dropped; the training goes on.
    """

    name: str
    open: Callable[[Path, RunConfig], Sink]
    description: str = ""
    unavailable: Callable[[], str | None] | None = None
