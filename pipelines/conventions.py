"""What every gantk asset carries so Dagster can tell owners, kinds and staleness apart.

`code_version`s: bump the one of a stage when a change to its code changes what it writes,
so Dagster marks the materializations made by the older code stale.
"""

from __future__ import annotations

from enum import Enum

OWNERS = ["team:gantk"]
INGEST_CODE_VERSION = "ingest-1"
DEDUP_CODE_VERSION = "dedup-1"
TRAIN_CODE_VERSION = "train-1"
EVAL_CODE_VERSION = "eval-1"
SWEEP_CODE_VERSION = "sweep-1"


class Device(str, Enum):
    """Where a step computes; an enum, so Dagster checks it when the run is launched."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def tag(value: str) -> str:
    """A registry name as a Dagster tag value (letters, digits, `-`, `_`, `.`)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value)[:63]


def model_tags(dataset: str, architecture: str, loss: str | None = None) -> dict[str, str]:
    """Tags on a model's (or its evaluation's) materialization, to filter events by."""
    tags = {"gantk/dataset": tag(dataset), "gantk/architecture": tag(architecture)}
    if loss:
        tags["gantk/loss"] = tag(loss)
    return tags
