"""`gantk config PRESET`: print the resolved configuration as a run file to edit."""

from __future__ import annotations

from pathlib import Path

import typer


def config(
    preset: str | None = typer.Argument(None, help="preset name; optional with --config"),
    config_file: Path | None = typer.Option(None, "--config", help="a run file to start from"),
    overrides: list[str] = typer.Option([], "--set", help="config key=value, e.g. lr=1e-4"),
) -> None:
    """Print PRESET's configuration (with --config and --set applied) as TOML, a starting
    point for `gantk run --config FILE`."""
    from gantk.training.request import RunRequest, check_request
    from gantk.training.run_file import to_toml

    request = RunRequest(preset, overrides=list(overrides), config_file=config_file)
    typer.echo(to_toml(check_request(request)), nl=False)


def register(app: typer.Typer) -> None:
    app.command("config")(config)
