"""What runs and sweeps recorded, read back without torch: each run's status, its score
curve for one metric (from RUN/metrics.jsonl), its throughput and steps."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gantk.errors import StoreError
from gantk.experiments import manifest as mf

LOSS_KEYS = ("loss_d", "loss_g")


@dataclass
class RunResult:
    """One run as a comparison sees it; `status` is done, failed or pending."""

    run_dir: Path
    point: str
    seed: int | None
    status: str
    reason: str | None = None
    step: int | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)
    images_per_s: float | None = None
    metrics_seen: set[str] = field(default_factory=set)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The lines of RUN/metrics.jsonl (none yet: empty); a torn last line is skipped."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    lines = []
    for text in path.read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            continue
    return lines


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def read_run(run_dir: Path, metric: str, point: str | None = None,
             entry: mf.RunEntry | None = None) -> RunResult:
    """A run directory's result; `entry` (from a sweep manifest) knows its status."""
    lines = read_metrics(run_dir)
    config = _config(run_dir)
    losses = [ln for ln in lines if "loss_d" in ln]
    speeds = [ln["images_per_s"] for ln in losses if _finite(ln.get("images_per_s"))]
    curve = [(int(ln["step"]), float(ln[metric])) for ln in lines
             if isinstance(ln.get(metric), (int, float))]
    result = RunResult(run_dir, point or run_dir.name,
                       entry.seed if entry else config.get("seed"), mf.PENDING,
                       step=max((int(ln["step"]) for ln in lines), default=None),
                       curve=curve, images_per_s=sum(speeds) / len(speeds) if speeds else None,
                       metrics_seen={k for ln in lines for k, v in ln.items()
                                     if k != "step" and _finite(v)})
    nonfinite = next((ln["step"] for ln in losses
                      if any(k in ln and not _finite(ln[k]) for k in LOSS_KEYS)), None)
    if entry is not None:
        result.status, result.reason = entry.status, entry.reason
    elif nonfinite is not None:
        result.status, result.reason = mf.FAILED, f"a loss became NaN/Inf by step {nonfinite}"
    elif result.step is not None and result.step >= (config.get("steps") or math.inf):
        result.status = mf.DONE
    if result.status == mf.DONE and any(not math.isfinite(v) for _, v in curve):
        result.status, result.reason = mf.FAILED, f"{metric} is NaN/Inf"
    return result


def _config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def collect(paths: list[Path], metric: str) -> list[RunResult]:
    """Every run of the given sweeps (all their runs, unstarted ones too) and run dirs."""
    results = []
    for path in map(Path, paths):
        if mf.is_sweep(path):
            manifest = mf.load(path)
            results += [read_run(path / run.folder, metric, run.point, run)
                        for run in manifest.runs]
        elif (path / "config.json").is_file():
            results.append(read_run(path, metric))
        else:
            raise StoreError(f"{path} is neither a gantk run (config.json) nor a sweep "
                             "(sweep.json); pass run or sweep folders")
    return results
