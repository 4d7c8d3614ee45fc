"""The comparison as files: compare.md and compare.png in one folder, and the same
content for machines. Shared by `gantk compare` and the Dagster comparison asset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gantk.atomic import write_text_atomic
from gantk.experiments.compare import markdown, rows, to_json
from gantk.experiments.results import collect


@dataclass
class Report:
    markdown: str
    data: dict[str, Any]
    markdown_path: Path
    plot_path: Path | None


def write_report(paths: list[Path], metric: str, out: Path) -> Report:
    from gantk.experiments.plots import plot_curves

    table = rows(collect(paths, metric), metric)
    text = markdown(table, metric)
    out.mkdir(parents=True, exist_ok=True)
    md_path = out / "compare.md"
    plot = plot_curves(table, metric, out / "compare.png")
    if plot is None:  # no stale plot of another metric beside this table
        (out / "compare.png").unlink(missing_ok=True)
    figure = f"\n![{metric} per point](compare.png)\n" if plot else ""
    write_text_atomic(md_path, f"# Comparison: {metric}\n\n{text}{figure}")
    return Report(text, to_json(table, metric), md_path, plot)
