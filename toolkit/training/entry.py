"""`train()`: the one training entry of both faces. `gantk run` and the Dagster train
asset's Pipes process hand it a RunRequest; it composes the configuration, joins the
torchrun job when there is one, trains, and returns the result."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gantk.locks import DirLock
from gantk.training import distributed
from gantk.training.request import RunRequest, compose, no_bar
from gantk.training.trainer import Trainer, TrainResult

if TYPE_CHECKING:
    from gantk.progress import Bars


@dataclass
class TrainEvents:
    """Where a face wants to hear from a training (rank 0 only): log lines, each metrics
    record, and progress bars (`bar(description)` yields `update(done, total, fields)`,
    as `gantk.progress.progress_bar` does) for the demo data's conversion and the steps."""

    log: Callable[[str], None] = print
    metrics: Callable[[dict[str, float]], None] | None = None
    bar: Bars | None = None


def train(request: RunRequest, events: TrainEvents | None = None) -> TrainResult | None:
    """Train what `request` asks for. Every process of a torchrun job calls this; rank 0
    gets the result, the others None."""
    events = events or TrainEvents()
    world = distributed.join()
    talk = world.is_main
    bar = (events.bar or no_bar) if talk else no_bar
    try:
        with distributed.main_first(world):  # rank 0 converts the demo data once
            config, out = compose(request, notify=events.log if talk else None, bar=bar)
        out = distributed.from_main(out, world)  # a clock-named directory, the same for all
        # rank 0 holds the run directory: a second `gantk run --resume` on it is refused
        with DirLock(out, "training run") if talk else contextlib.nullcontext():
            trainer = Trainer(config, out, resume=request.resume, log=events.log)
            trainer.log(trainer.describe())
            with bar(request.preset_name()) as update:
                result = trainer.fit(progress=update,
                                     on_metrics=events.metrics if talk else None)
        return result if talk else None
    finally:
        distributed.leave()


def result_lines(result: TrainResult, preset: str) -> list[str]:
    """What a terminal shows after a training: where everything went, how to go on."""
    lines = []
    if result.interrupted:
        lines.append(f"interrupted at step {result.step}; checkpoint written. Continue with: "
                     f"gantk run {preset} --resume --out {result.run_dir}")
    lines.append(f"done: {result.step} steps")
    lines += [f"  {name:<10} {path}" for name, path in result.written().items()]
    return lines
