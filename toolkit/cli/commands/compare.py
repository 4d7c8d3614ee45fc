"""`gantk compare RUN_OR_SWEEP…`: compare.md (a table per point: final and best score,
mean ± std over seeds, images/s, steps, status) and compare.png (curves, seeds as a band)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def compare(
    paths: list[Path] = typer.Argument(..., help="run folders and/or sweep folders"),
    out: Path | None = typer.Option(None, "--out", help="where compare.md and compare.png go "
                                    "(default: the sweep folder when one is given, else "
                                    "./compare)"),
    metric: str = typer.Option("fid", "--metric", help="a metrics.jsonl key: fid, kid, "
                               "precision, recall, loss_d, loss_g, …"),
    as_json: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
) -> None:
    """Compare runs and sweeps point by point; failed runs are rows that say so."""
    from gantk.experiments.report import write_report

    report = write_report(paths, metric, out or _default_out(paths))
    if as_json:
        typer.echo(json.dumps(report.data, indent=2))
        return
    typer.echo(report.markdown, nl=False)
    typer.echo(f"\nwritten: {report.markdown_path}"
               + (f" and {report.plot_path}" if report.plot_path else " (nothing to plot)"))


def _default_out(paths: list[Path]) -> Path:
    from gantk.experiments.manifest import is_sweep

    return paths[0] if len(paths) == 1 and is_sweep(paths[0]) else Path("compare")


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
