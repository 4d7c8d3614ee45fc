"""`tensorboard`: TensorBoard event files under `RUN/tensorboard` through
`torch.utils.tensorboard` (needs the `tensorboard` package: `pip install
'gantk[tensorboard]'`). Losses as `train/*`, scores as `scores/*`, sample grids as images.

    gantk run dcgan --log tensorboard
    tensorboard --logdir ~/.gantk/runs

A resumed run opens its writer with `purge_step` just past the checkpoint, so TensorBoard
drops what the interrupted run logged after it: no step is shown twice."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk import hookimpl
from gantk.contract.specs import TrackerSpec

if TYPE_CHECKING:
    from gantk.training.config import RunConfig

FOLDER = "tensorboard"


def tensorboard_missing() -> str | None:
    if importlib.util.find_spec("tensorboard") is None:
        return "the tensorboard package is not installed; pip install 'gantk[tensorboard]'"
    return None


def image_tag(name: str) -> str:
    """Grids named by their step (`step-00000500`) share one tag, so TensorBoard's step
    slider walks through them; others (`final`) get their own."""
    return "samples" if name.startswith("step-") else f"samples/{name}"


class TensorBoardSink:
    """One SummaryWriter per training session, created when the run starts (the step it
    resumes from decides what to purge)."""

    def __init__(self, run_dir: Path) -> None:
        self.log_dir = Path(run_dir) / FOLDER
        self.writer: Any = None

    def start(self, config: RunConfig, step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # events at steps after the checkpoint were logged by the interrupted session
        self.writer = SummaryWriter(str(self.log_dir), purge_step=step + 1 if step else None)
        text = config.model_dump_json(indent=2).replace("\n", "\n    ")
        self.writer.add_text("config", f"    {text}", step)  # indented: a code block

    def _scalars(self, prefix: str, step: int, values: dict[str, Any]) -> None:
        from gantk.training.sinks import numbers

        for key, value in numbers(values).items():
            if key != "step":
                self.writer.add_scalar(f"{prefix}/{key}", value, step)
        self.writer.flush()

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self._scalars("train", step, values)

    def scores(self, step: int, results: dict[str, Any]) -> None:
        self._scalars("scores", step, results)

    def image(self, step: int, name: str, path: Path) -> None:
        import numpy as np
        from PIL import Image

        with Image.open(path) as grid:
            pixels = np.asarray(grid.convert("RGB"))
        self.writer.add_image(image_tag(name), pixels, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def open_tensorboard(run_dir: Path, config: RunConfig) -> TensorBoardSink:
    return TensorBoardSink(run_dir)


@hookimpl
def register_trackers(register):
    register(TrackerSpec(
        "tensorboard", open_tensorboard, unavailable=tensorboard_missing,
        description="TensorBoard event files in RUN/tensorboard: losses, scores, sample "
                    "grids (optional extra: gantk[tensorboard])"))
