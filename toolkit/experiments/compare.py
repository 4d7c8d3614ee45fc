"""A comparison of runs grouped into points: final and best score per point as mean ± std
over seeds, images/s, steps and status, as Markdown (compare.md) and plain data (--json).
Failed and unfinished runs are counted in their row's status, never silently dropped."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from gantk.experiments import manifest as mf
from gantk.experiments.results import RunResult

# Lower is better for these; higher for the rest (precision, recall, d_x, …).
LOWER_IS_BETTER = ("fid", "kid", "loss_d", "loss_g")


@dataclass
class Spread:
    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        values = [v for v in values if math.isfinite(v)]
        if not values:
            return cls(None, None, 0)
        std = statistics.stdev(values) if len(values) > 1 else None
        return cls(statistics.fmean(values), std, len(values))

    def text(self) -> str:
        if self.mean is None:
            return "—"
        return f"{self.mean:.4g} ± {self.std:.2g}" if self.std is not None else f"{self.mean:.4g}"


@dataclass
class PointRow:
    point: str
    runs: list[RunResult]
    final: Spread
    best: Spread
    images_per_s: Spread
    steps: Spread

    def status(self) -> str:
        counts = {s: sum(r.status == s for r in self.runs) for s in (mf.DONE, mf.FAILED,
                                                                     mf.PENDING)}
        if counts[mf.DONE] == len(self.runs):
            return "done"
        parts = [f"{n} {s}" for s, n in counts.items() if n]
        reasons = sorted({r.reason for r in self.runs if r.status == mf.FAILED and r.reason})
        return ", ".join(parts) + (f": {reasons[0]}" if reasons else "")


def best_of(curve: list[tuple[int, float]], metric: str) -> float:
    values = [v for _, v in curve if math.isfinite(v)]
    if not values:
        return math.nan
    return min(values) if metric in LOWER_IS_BETTER else max(values)


def rows(results: list[RunResult], metric: str) -> list[PointRow]:
    """One row per point, in the order the points first appear."""
    groups: dict[str, list[RunResult]] = {}
    for result in results:
        groups.setdefault(result.point, []).append(result)
    out = []
    for point, runs in groups.items():
        scored = [r for r in runs if r.curve and r.status != mf.FAILED]
        out.append(PointRow(
            point, runs,
            Spread.of([r.curve[-1][1] for r in scored]),
            Spread.of([best_of(r.curve, metric) for r in scored]),
            Spread.of([r.images_per_s for r in runs if r.images_per_s is not None]),
            Spread.of([float(r.step) for r in runs if r.step is not None])))
    return out


def markdown(table: list[PointRow], metric: str) -> str:
    """The table a README or the Dagster UI shows."""
    head = (f"| point | seeds | status | final {metric} | best {metric} | images/s | steps |\n"
            "|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {row.point} | {len(row.runs)} | {row.status()} | {row.final.text()} | "
        f"{row.best.text()} | {_whole(row.images_per_s)} | {_whole(row.steps)} |\n"
        for row in table)
    return head + body + _note(table, metric)


def _whole(spread: Spread) -> str:
    return "—" if spread.mean is None else f"{spread.mean:.0f}"


def _note(table: list[PointRow], metric: str) -> str:
    if any(row.final.n for row in table):
        best = (min if metric in LOWER_IS_BETTER else max)(
            (row for row in table if row.final.mean is not None), key=lambda r: r.final.mean)
        return f"\nbest final {metric}: {best.point} (mean ± sample std over seeds)\n"
    seen = sorted({k for row in table for r in row.runs for k in r.metrics_seen})
    return (f"\nno run recorded {metric!r} yet (scores come from in-training evaluation, "
            f"`--set eval_every=N`); recorded: {', '.join(seen) or 'nothing'}\n")


def _num(value: float | None) -> float | None:
    """JSON has no NaN: a missing or non-finite number is null."""
    return value if value is not None and math.isfinite(value) else None


def to_json(table: list[PointRow], metric: str) -> dict[str, Any]:
    def spread(s: Spread) -> dict[str, Any]:
        return {"mean": s.mean, "std": s.std, "n": s.n}

    return {"metric": metric, "points": [{
        "point": row.point, "status": row.status(), "final": spread(row.final),
        "best": spread(row.best), "images_per_s": spread(row.images_per_s),
        "steps": spread(row.steps),
        "runs": [{"run_dir": str(r.run_dir), "seed": r.seed, "status": r.status,
                  "reason": r.reason, "step": r.step,
                  "final": _num(r.curve[-1][1]) if r.curve else None,
                  "best": _num(best_of(r.curve, metric)),
                  "curve": [[step, _num(v)] for step, v in r.curve]}
                 for r in row.runs]} for row in table]}
