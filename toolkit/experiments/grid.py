"""A sweep's grid: `--grid key=v1,v2` flags into points (one setting per grid key), each
with a readable name that is also its folder, e.g. `lr=0.001,beta1=0.9`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from gantk.errors import ConfigError
from gantk.training.config import parse_options, parse_overrides

BASE_POINT = "base"


@dataclass(frozen=True)
class Point:
    """One combination of grid settings, kept as typed (`1e-4`), which is also how its
    folder is named and how it reaches the run (`--set lr=1e-4`)."""

    typed: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.typed) or BASE_POINT

    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.typed]

    def settings(self) -> dict[str, Any]:
        return parse_options(self.overrides())


def parse_grid(specs: list[str]) -> dict[str, list[str]]:
    """`["lr=1e-4,2e-4", "loss=hinge"]` -> `{"lr": ["1e-4", "2e-4"], "loss": ["hinge"]}`;
    keys are checked like `--set` keys, values when the runs are checked."""
    grid: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, raw = spec.partition("=")
        values = [v.strip() for v in raw.split(",")]
        if not sep or not key or not all(values):
            raise ConfigError(f"--grid {spec!r}: expected key=value1,value2,…, e.g. "
                              "--grid lr=1e-4,2e-4")
        if key == "seed":
            raise ConfigError("--grid seed=…: seeds are swept with --seeds N")
        if key in grid:
            raise ConfigError(f"--grid {key} given twice; list all its values in one flag")
        if any(c in v for v in values for c in "/\\"):
            raise ConfigError(f"--grid {spec!r}: values name folders, so they cannot hold "
                              "'/' or '\\'")
        if len(set(values)) != len(values):
            raise ConfigError(f"--grid {spec!r}: a value is listed twice")
        parse_overrides([f"{key}={values[0]}"])  # an unknown key is refused here, one line
        grid[key] = values
    return grid


def points(grid: dict[str, list[str]]) -> list[Point]:
    """Every combination, the first grid key varying slowest."""
    keys = list(grid)
    return [Point(tuple(zip(keys, combo))) for combo in itertools.product(*grid.values())]
