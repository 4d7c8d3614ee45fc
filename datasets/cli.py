"""`gantk ingest SOURCE SRC DEST`: the datasets wing adds its command as a plugin does."""

from __future__ import annotations

from pathlib import Path

import typer

from gantk import hookimpl


def ingest(
    source: str = typer.Argument(..., help="dataset source name (see `gantk plugins`): "
                                 "lsun, imagenet, faces, cifar10, svhn, folder, mnist, …"),
    src: Path = typer.Argument(..., help="the source data's location"),
    dest: Path = typer.Argument(..., help="ImageStore directory to write"),
    resolution: int | None = typer.Option(None, "--resolution",
                                          help="output size (default: the source's)"),
    limit: int | None = typer.Option(None, "--limit", help="stop after N inputs"),
    workers: int | None = typer.Option(None, "--workers", help="decoding processes "
                                       "(default: all usable CPUs; 1: no extra processes)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace a different store"),
    option: list[str] = typer.Option([], "--option", "-o", help="source option key=value"),
    dedup: bool = typer.Option(False, "--dedup", help="then remove near-duplicates with the "
                               "paper's autoencoder hash: the raw store goes to DEST-raw, "
                               "the de-duplicated one to DEST (see `gantk dedup`)"),
    dedup_set: list[str] = typer.Option([], "--dedup-set", help="de-dup option key=value, "
                                        "e.g. radius=1, epochs=5 (see `gantk dedup --help`)"),
) -> None:
    """Ingest SRC with SOURCE into DEST; resumable, skips and reports bad inputs."""
    from gantk.ingest.engine import REPORT_NAME
    from gantk.ingest.engine import ingest as run_ingest
    from gantk.progress import progress_bar
    from gantk.training.config import parse_options

    raw = dest.with_name(f"{dest.name}-raw") if dedup else dest
    try:
        with progress_bar(f"ingest {source}") as update:
            summary = run_ingest(source, src, raw, resolution=resolution, limit=limit,
                                 overwrite=overwrite, options=parse_options(option),
                                 progress=update, workers=workers)
    except KeyboardInterrupt:
        typer.echo("interrupted; what was ingested is kept: run the same command again to "
                   "resume", err=True)
        raise typer.Exit(130) from None
    if summary.skipped:
        typer.echo(f"skipped inputs and their reasons: {raw / REPORT_NAME}", err=True)
    if dedup:
        from gantk.datasets.dedup import dedup_store

        result = dedup_store(raw, dest, bars=progress_bar, overwrite=overwrite,
                             **parse_options(dedup_set))
        summary.duplicates, summary.count, summary.dest = result.removed, result.kept, str(dest)
        typer.echo(f"de-duplication report: {result.report}", err=True)
    typer.echo(summary.line())


@hookimpl
def register_commands(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
