"""What the visualizations share: numbered samples, option parsing, JSON outputs.

Sample `i` of seed `s` is the generator's image of `numbered_z(s, [i])`, rendered with the
BatchNorm statistics of the seed's first `REFERENCE_SIZE` samples (the batch the
`samples` grid shows). So every plugin that names a sample by its number redraws exactly
the image in the grid, whatever else is in its batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gantk.atomic import write_text_atomic
from gantk.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from gantk.contract.specs import EvalContext
    from gantk.training.runs import TrainedRun

REFERENCE_SIZE = 64


def numbered_z(run: TrainedRun, seed: int, indices: Iterable[int]) -> torch.Tensor:
    """z of the numbered samples `indices` of `seed`: each a pure function of (seed, i)."""
    import torch

    from gantk.training.sampling import sample_z

    rows = []
    for i in indices:
        state = np.random.SeedSequence([seed, int(i)]).generate_state(1, np.uint64)[0]
        gen = torch.Generator().manual_seed(int(state) >> 1)
        rows.append(sample_z(1, run.config.nz, run.config.z_dist, gen, torch.device("cpu")))
    return torch.cat(rows).to(run_device(run))


def run_device(run: TrainedRun) -> torch.device:
    return next(run.generator.parameters()).device


def reference_z(run: TrainedRun, seed: int) -> torch.Tensor:
    """The batch whose BatchNorm statistics every numbered image of `seed` is drawn with."""
    return numbered_z(run, seed, range(REFERENCE_SIZE))


def render(run: TrainedRun, z: torch.Tensor, seed: int) -> torch.Tensor:
    """Images for `z` with the reference batch statistics of `seed` (see module doc)."""
    from gantk.training.sampling import generate

    return generate(run.generator, z, reference=reference_z(run, seed)).cpu()


def int_list(value: Any, what: str) -> list[int]:
    """`3,17,42`, `[3, 17, 42]` or `3` as a list of non-negative ints."""
    items = value if isinstance(value, list) else str(value).replace(" ", "").split(",")
    try:
        numbers = [int(v) for v in items if str(v) != ""]
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: expected sample numbers like 3,17,42, got {value!r}") from None
    if not numbers or min(numbers) < 0:
        raise ConfigError(f"{what}: expected non-negative sample numbers, got {value!r}")
    return numbers


def positive_int(ctx: EvalContext, key: str, default: int) -> int:
    value = ctx.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"option {key}: expected a positive integer, got {value!r}")
    return value


def flag(ctx: EvalContext, key: str, default: bool = False) -> bool:
    value = ctx.options.get(key, default)
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"option {key}: expected true or false, got {value!r}")


def number(ctx: EvalContext, key: str, default: float) -> float:
    value = ctx.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"option {key}: expected a number, got {value!r}")
    return float(value)


def write_json(path: Path, record: dict[str, Any]) -> Path:
    write_text_atomic(path, json.dumps(record, indent=2))
    return path


def run_record(run: TrainedRun, seed: int) -> dict[str, Any]:
    """Where a figure's images came from: enough to draw it again."""
    return {"run": str(run.run_dir), "checkpoint": run.checkpoint.name, "step": run.step,
            "seed": seed, "reference_size": REFERENCE_SIZE}
