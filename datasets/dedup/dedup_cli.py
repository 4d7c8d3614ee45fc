"""`gantk dedup STORE DEST`: the paper's autoencoder-hash de-duplication of any store.

A datasets-wing plugin (listed in gantk.contract.builtins): it adds the command through the same
`register_commands` hook a third-party package would use. Nothing heavy is imported until
the command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from gantk import hookimpl
from gantk.datasets.dedup import settings as S


def dedup(
    store: Path = typer.Argument(..., help="ImageStore to de-duplicate"),
    dest: Path = typer.Argument(..., help="ImageStore to write (the kept images)"),
    report: Path | None = typer.Option(None, "--report",
                                       help="JSON report path [default: DEST/dedup-report.json]"),
    radius: int = typer.Option(S.RADIUS.default, "--radius", help=S.RADIUS.help),
    verify: str = typer.Option(S.VERIFY.default, "--verify", help=S.VERIFY.help),
    threshold: float = typer.Option(S.THRESHOLD.default, "--threshold", help=S.THRESHOLD.help),
    thumb: int = typer.Option(S.THUMB.default, "--thumb", help=S.THUMB.help),
    variants: int = typer.Option(S.VARIANTS.default, "--variants", help=S.VARIANTS.help),
    model: Path | None = typer.Option(None, "--model",
                                      help="reuse a trained hash model (skip training)"),
    sample: int = typer.Option(S.SAMPLE.default, "--sample", help=S.SAMPLE.help),
    epochs: int = typer.Option(S.EPOCHS.default, "--epochs", help=S.EPOCHS.help),
    min_steps: int = typer.Option(S.MIN_STEPS.default, "--min-steps", help=S.MIN_STEPS.help),
    max_steps: int | None = typer.Option(S.MAX_STEPS.default, "--max-steps",
                                         help=S.MAX_STEPS.help),
    converge: bool = typer.Option(S.CONVERGE.default, "--converge/--no-converge",
                                  help=S.CONVERGE.help),
    seed: int = typer.Option(S.SEED.default, "--seed", help=S.SEED.help),
    device: str = typer.Option(S.DEVICE.default, "--device", help=S.DEVICE.help),
    workers: int | None = typer.Option(S.WORKERS.default, "--workers", help=S.WORKERS.help),
    work_dir: Path | None = typer.Option(None, "--work-dir",
                                         help="keep the hash model and codes here"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing DEST"),
) -> None:
    """Remove near-duplicates from STORE into DEST (first image of each group kept)."""
    from gantk.datasets.dedup import dedup_store
    from gantk.progress import progress_bar

    summary = dedup_store(store, dest, work_dir=work_dir, report=report, model=model,
                          bars=progress_bar, radius=radius, verify=verify,
                          threshold=threshold, thumb=thumb, variants=variants, sample=sample,
                          epochs=epochs, min_steps=min_steps, max_steps=max_steps,
                          converge=converge, seed=seed, device=device, workers=workers,
                          overwrite=overwrite)
    typer.echo(summary.line())


@hookimpl
def register_commands(app: typer.Typer) -> None:
    app.command("dedup")(dedup)
