"""`gantk eval NAME` and `gantk viz NAME`: run a registered evaluation or visualization.

`gantk viz` also passes any option it does not know itself to the visualization, so a
plugin's options read like real ones: `gantk viz vector-arithmetic --a 3,17,42 ...` is
`-o a=3,17,42`. Each visualization rejects names it does not know.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def parse_extra_options(args: list[str]) -> dict[str, Any]:
    """`--key value`, `--key=value` and bare `--flag` (true) into plugin options (values
    as JSON when they parse, dashes in keys as underscores)."""
    from gantk.errors import ConfigError
    from gantk.training.config import parse_options

    pairs, i = [], 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise ConfigError(f"unexpected argument {arg!r}; plugin options look like "
                              "--key value (or -o key=value)")
        key, sep, value = arg[2:].partition("=")
        if not sep:
            has_value = i + 1 < len(args) and not args[i + 1].startswith("--")
            value = args[i + 1] if has_value else "true"
            i += has_value
        pairs.append(f"{key.replace('-', '_')}={value}")
        i += 1
    return parse_options(pairs)


def _runner(kind: str, label: str, pass_through: bool):
    def command(
        ctx: typer.Context,
        name: str = typer.Argument(..., help=f"{label} name (see `gantk plugins`)"),
        run: Path | None = typer.Option(None, "--run", help="trained run directory"),
        data: Path | None = typer.Option(None, "--data", help="ImageStore the plugin needs"),
        out: Path | None = typer.Option(None, "--out", help="output directory "
                                        "(default: RUN/evals/NAME)"),
        device: str = typer.Option("auto", "--device", help="cpu, cuda or auto"),
        seed: int = typer.Option(0, "--seed"),
        option: list[str] = typer.Option([], "--option", "-o", help="plugin option key=value"),
    ) -> None:
        from gantk.evaluation.runner import run_eval
        from gantk.training.config import parse_options

        options = {**parse_options(option), **parse_extra_options(ctx.args)}
        result = run_eval(name, run, data, options, out, device, seed, kind)
        if result.summary:
            typer.echo(result.summary)
        for key, value in result.metrics.items():
            typer.echo(f"  {key} = {value:.6g}")
        for key, path in {**result.figures, **result.files}.items():
            typer.echo(f"  {key}: {path}")

    command.__doc__ = f"Run the {label} NAME on a trained run; writes result.json and figures."
    if pass_through:
        command.__doc__ += " Other --key value options go to the visualization."
    return command


def register(app: typer.Typer) -> None:
    app.command("eval")(_runner("eval", "evaluation", pass_through=False))
    app.command("viz", context_settings=PASS_THROUGH)(
        _runner("visualization", "visualization", pass_through=True))
