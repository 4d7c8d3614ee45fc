"""`gantk eval NAME` and `gantk viz NAME`: run a registered evaluation or visualization."""

from __future__ import annotations

from pathlib import Path

import typer


def _runner(kind: str, label: str):
    def command(
        name: str = typer.Argument(..., help=f"{label} name (see `gantk plugins`)"),
        run: Path | None = typer.Option(None, "--run", help="trained run directory"),
        data: Path | None = typer.Option(None, "--data", help="ImageStore the plugin needs"),
        out: Path | None = typer.Option(None, "--out", help="output directory "
                                        "(default: RUN/evals/NAME)"),
        device: str = typer.Option("auto", "--device", help="cpu, cuda or auto"),
        seed: int = typer.Option(0, "--seed"),
        option: list[str] = typer.Option([], "--option", "-o", help="plugin option key=value"),
    ) -> None:
        from gantk.config import parse_options
        from gantk.evaluate import run_eval

        result = run_eval(name, run, data, parse_options(option), out, device, seed, kind)
        if result.summary:
            typer.echo(result.summary)
        for key, value in result.metrics.items():
            typer.echo(f"  {key} = {value:.6g}")
        for key, path in {**result.figures, **result.files}.items():
            typer.echo(f"  {key}: {path}")

    command.__doc__ = f"Run the {label} NAME on a trained run; writes result.json and figures."
    return command


def register(app: typer.Typer) -> None:
    app.command("eval")(_runner("eval", "evaluation"))
    app.command("viz")(_runner("visualization", "visualization"))
