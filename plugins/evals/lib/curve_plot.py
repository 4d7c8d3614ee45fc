"""The probe curve as a PNG: DCGAN D error against training with its +-1.96 std band, the
reference rows as flat lines with their bands. matplotlib (Agg, no pyplot state)."""

from __future__ import annotations

from pathlib import Path


def plot_curve(points: list[dict], refs: list[dict], path: Path, title: str,
               in_epochs: bool) -> Path:
    """Draw and write atomically; x is the epoch when `in_epochs`, else the step."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gantk.atomic import atomic_path

    figure = Figure(figsize=(7, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = [p["epoch"] if in_epochs else p["step"] for p in points]
    err = [p["test_error"] for p in points]
    ci = [p["test_ci"] for p in points]
    axes.plot(x, err, marker="o", color="C0", label="DCGAN discriminator features")
    axes.fill_between(x, [e - c for e, c in zip(err, ci)], [e + c for e, c in zip(err, ci)],
                      color="C0", alpha=0.2)
    for i, r in enumerate(refs, 1):  # axhline does not advance the colour cycle
        axes.axhline(r["test_error"], linestyle="--", color=f"C{i}",
                     label=f"{r['name']} ({r['dims']} features)")
        axes.axhspan(r["test_error"] - r["test_ci"], r["test_error"] + r["test_ci"],
                     color=f"C{i}", alpha=0.08)
    axes.set_xlabel("epoch" if in_epochs else "step")
    axes.set_ylabel("test error (%), mean +- 1.96 std")
    axes.set_title(title, fontsize="medium")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path
