"""`training-curves`: losses, D(x), D(G(z)) and images/s from `RUN/metrics.jsonl`.

Drawn with matplotlib (Agg, no pyplot state, so it is safe inside Dagster's processes):
axes, ticks and legends are its job, not ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec

PANELS = (("losses", lambda k: k.startswith("loss")),
          ("discriminator outputs", lambda k: k in ("d_x", "d_g_z")),
          ("throughput (images/s)", lambda k: k == "images_per_s"))
LABELS = {"loss_d": "D loss", "loss_g": "G loss", "d_x": "D(x)", "d_g_z": "D(G(z))",
          "images_per_s": "images/s"}


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    from gantk.errors import ConfigError

    path = Path(run_dir) / "metrics.jsonl"
    records = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line being written right now
                continue
            if "kind" not in record:  # logging windows; scores lines carry a "kind"
                records.append(record)
    if not records:
        raise ConfigError(f"{path}: no logged metrics yet; train the run with `gantk run` "
                          "(it logs every log_every steps)")
    return records


def _smoothed(values: Any, window: int) -> Any:
    import numpy as np

    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def training_curves(ctx: EvalContext) -> EvalResult:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gantk.atomic import atomic_path
    from gantk.plugins.visualizations.lib.common import positive_int, write_json

    records = read_metrics(ctx.run_dir)
    window = positive_int(ctx, "smooth", max(1, len(records) // 50))
    steps = np.array([r["step"] for r in records])
    keys = sorted({k for r in records for k in r if k != "step"})
    series = {k: np.array([r.get(k, np.nan) for r in records], float) for k in keys}

    figure = Figure(figsize=(12, 3.4), dpi=90, layout="constrained")
    FigureCanvasAgg(figure)
    for i, (title, wanted) in enumerate(PANELS):
        axes = figure.add_subplot(1, len(PANELS), i + 1)
        for key in (k for k in keys if wanted(k)):
            line, = axes.plot(steps, series[key], alpha=0.25, linewidth=0.8)
            axes.plot(steps, _smoothed(series[key], window), color=line.get_color(),
                      label=LABELS.get(key, key))
        axes.set_title(title)
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend(loc="best", fontsize="small")
    png = ctx.out_dir / "training_curves.png"
    with atomic_path(png) as tmp:
        figure.savefig(tmp, format="png")
    tail = max(1, len(records) // 10)
    metrics = {"steps": float(steps[-1]),
               **{f"final_{k}": float(np.nanmean(v[-tail:])) for k, v in series.items()}}
    saved = write_json(ctx.out_dir / "training_curves.json",
                       {"run": str(ctx.run_dir), "records": len(records), "smooth": window,
                        "final_mean_over_last": tail, **metrics})
    return EvalResult(metrics=metrics, figures={"training_curves": png},
                      files={"record": saved},
                      summary=f"{len(records)} logged points up to step {int(steps[-1])}")


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="training-curves", run=training_curves, kind="visualization",
        options=lazy("gantk.plugins.visualizations.lib.options:TrainingCurvesOptions"),
        description="losses, D(x), D(G(z)) and images/s from RUN/metrics.jsonl as a plot",
    ))
