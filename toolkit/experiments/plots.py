"""compare.png: one score curve per point (the mean over its seeds) with the seeds' range
as a band (matplotlib's object API on the Agg canvas: no pyplot state, no display)."""

from __future__ import annotations

import math
from pathlib import Path

from gantk.atomic import atomic_path
from gantk.experiments.compare import PointRow


def band(row: PointRow) -> tuple[list[int], list[float], list[float], list[float]]:
    """Steps with mean, min and max over the seeds that scored there."""
    by_step: dict[int, list[float]] = {}
    for run in row.runs:
        for step, value in run.curve:
            if math.isfinite(value):
                by_step.setdefault(step, []).append(value)
    steps = sorted(by_step)
    return (steps, [sum(by_step[s]) / len(by_step[s]) for s in steps],
            [min(by_step[s]) for s in steps], [max(by_step[s]) for s in steps])


def plot_curves(table: list[PointRow], metric: str, path: Path) -> Path | None:
    """Write the plot; None when no point has a value to draw."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.2), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    drawn = 0
    for row in table:
        steps, mean, low, high = band(row)
        if not steps:
            continue
        label = f"{row.point} ({len(row.runs)} seeds)"
        if row.status() != "done":
            label += f" [{row.status().split(':')[0]}]"
        (line,) = axes.plot(steps, mean, marker="o", markersize=3, label=label)
        axes.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        drawn += 1
    if not drawn:
        return None
    axes.set_xlabel("step")
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} per point: mean over seeds, band = min..max")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path
