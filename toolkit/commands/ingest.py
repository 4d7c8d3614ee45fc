"""`gantk ingest SOURCE SRC DEST`: any registered dataset source into an ImageStore."""

from __future__ import annotations

from pathlib import Path

import typer


def ingest(
    source: str = typer.Argument(..., help="dataset source name (see `gantk plugins`)"),
    src: Path = typer.Argument(..., help="the source data's location"),
    dest: Path = typer.Argument(..., help="ImageStore directory to write"),
    resolution: int | None = typer.Option(None, "--resolution"),
    limit: int | None = typer.Option(None, "--limit", help="stop after N inputs"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace a different store"),
    option: list[str] = typer.Option([], "--option", "-o", help="source option key=value"),
) -> None:
    """Ingest SRC with SOURCE into DEST; resumable, skips and reports bad inputs."""
    from gantk.config import parse_options
    from gantk.ingest import ingest as run_ingest
    from gantk.progress import progress_bar

    with progress_bar(f"ingest {source}") as update:
        summary = run_ingest(source, src, dest, resolution=resolution, limit=limit,
                             overwrite=overwrite, options=parse_options(option),
                             progress=update)
    typer.echo(summary.line())


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
