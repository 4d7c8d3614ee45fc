"""Scoring a live generator in-process: what a training runs on its schedule, and what
`gantk eval fid|kid|prdc` runs on a loaded run. No Dagster, no run directory; the evals
scored together share one feature pass (see `ScoreContext`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from gantk.contract.specs import EvalResult, ScoreContext
from gantk.errors import ConfigError


def score_generator(names: list[str], generate: Callable[[Any], Any], z: Any,
                    data: str | os.PathLike[str], device: str = "cpu",
                    options: dict[str, Any] | None = None, seed: int = 0,
                    lasting: dict[Hashable, Any] | None = None,
                    bar: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Scores of the evals `names` for `generate(z_batch) -> images`: one flat record of
    their metrics plus what produced them (network, n). Pass the same `lasting` dict to
    every call of a training to load the network and real features once."""
    ctx = ScoreContext(generate, z, Path(data), device, dict(options or {}), seed,
                       lasting=lasting if lasting is not None else {}, bar=bar)
    record: dict[str, Any] = {}
    for result in score_each(names, ctx).values():
        record.update(result.metrics)
    return {**record, **ctx.about}


def score_each(names: list[str], ctx: ScoreContext) -> dict[str, EvalResult]:
    from gantk.contract.registry import get_registry

    registry = get_registry()
    results = {}
    for name in names:
        spec = registry.eval(name)
        if spec.score is None:
            raise ConfigError(f"eval {name!r} cannot score a live generator")
        results[name] = spec.score(ctx)
    return results
