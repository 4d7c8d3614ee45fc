"""The in-training scores of a run as Dagster metadata: numbers Dagster plots across
materializations, the score curve as an image, and the best checkpoint.

The trainer appends one line per in-training evaluation to RUN/metrics.jsonl,
`{"step", "kind": "scores", "fid", "kid", "precision", "network", "n"}`, next to the loss
lines, and keeps RUN/checkpoints/best.safetensors when `best_metric` is set. A run without
score lines simply has no score metadata.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dagster import MetadataValue

SCORES = ("fid", "kid", "precision", "recall", "density", "coverage")
LOWER_IS_BETTER = {"fid", "kid"}
CURVE_PX = 900


def score_records(run_dir: Path) -> list[dict[str, Any]]:
    """The `"kind": "scores"` lines of RUN/metrics.jsonl, in step order."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line being written right now
            continue
        if isinstance(record, dict) and record.get("kind") == "scores":
            records.append(record)
    return sorted(records, key=lambda r: r.get("step", 0))


def _finite(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def final_scores(records: list[dict[str, Any]]) -> dict[str, float]:
    """The last value of each score (what the final model reached)."""
    out: dict[str, float] = {}
    for record in records:
        out.update({k: float(record[k]) for k in SCORES if _finite(record.get(k))})
    return out


def draw_curve(records: list[dict[str, Any]], path: Path) -> Path:
    """Each score against the step, one panel per score (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gantk.atomic import atomic_path

    names = [k for k in SCORES if any(_finite(r.get(k)) for r in records)]
    figure = Figure(figsize=(4 * len(names), 3.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    for i, name in enumerate(names):
        axes = figure.add_subplot(1, len(names), i + 1)
        points = [(r["step"], r[name]) for r in records if _finite(r.get(name))]
        axes.plot(*zip(*points), marker="o")
        side = "lower" if name in LOWER_IS_BETTER else "higher"
        axes.set_title(f"{name} ({side} is better)")
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path


def score_metadata(run_dir: Path) -> dict[str, MetadataValue]:
    """Final scores (floats), the score curve and the best checkpoint, where present."""
    from gantk.pipelines.metadata import png_markdown

    records = score_records(run_dir)
    metadata: dict[str, MetadataValue] = {}
    best = Path(run_dir) / "checkpoints" / "best.safetensors"
    if best.is_file():
        metadata["best_checkpoint"] = MetadataValue.path(str(best))
    if not records:
        return metadata
    metadata.update({f"score_{k}": MetadataValue.float(v)
                     for k, v in final_scores(records).items()})
    metadata["score_evaluations"] = MetadataValue.int(len(records))
    if records[-1].get("network"):
        metadata["score_network"] = MetadataValue.text(str(records[-1]["network"]))
    fids = [r for r in records if _finite(r.get("fid"))]
    if fids:
        top = min(fids, key=lambda r: r["fid"])
        metadata["best_fid"] = MetadataValue.float(float(top["fid"]))
        metadata["best_step"] = MetadataValue.int(int(top["step"]))
    curve = draw_curve(records, Path(run_dir) / "samples" / "scores.png")
    metadata["score_curve"] = png_markdown(curve, "scores", max_px=CURVE_PX)
    return metadata
