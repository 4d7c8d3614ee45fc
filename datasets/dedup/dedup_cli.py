"""`gantk dedup STORE DEST`: the paper's autoencoder-hash de-duplication of any store.

A datasets-wing plugin (listed in gantk.contract.builtins): it adds the command through the same
`register_commands` hook a third-party package would use. Nothing heavy is imported until
the command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from gantk import hookimpl


def dedup(
    store: Path = typer.Argument(..., help="ImageStore to de-duplicate"),
    dest: Path = typer.Argument(..., help="ImageStore to write (the kept images)"),
    report: Path | None = typer.Option(None, "--report",
                                       help="JSON report path [default: DEST/dedup-report.json]"),
    radius: int = typer.Option(1, "--radius", help="Hamming radius probed (0, 1 or 2 bits)"),
    verify: str = typer.Option("pixels", "--verify",
                               help="check each removal against the kept image: pixels|none"),
    threshold: float = typer.Option(0.93, "--threshold",
                                    help="min thumbnail correlation for --verify pixels"),
    thumb: int = typer.Option(16, "--thumb", help="thumbnail side for --verify pixels (8/16/32)"),
    variants: int = typer.Option(6, "--variants",
                                 help="alignment probes hashed per image (shifts, zooms; 0-10)"),
    model: Path | None = typer.Option(None, "--model",
                                      help="reuse a trained hash model (skip training)"),
    sample: int = typer.Option(50_000, "--sample", help="images to train the hash model on"),
    epochs: int = typer.Option(20, "--epochs", help="passes over the training sample"),
    min_steps: int = typer.Option(300, "--min-steps",
                                  help="train at least this many updates"),
    max_steps: int | None = typer.Option(None, "--max-steps", help="train at most this many "
                                         "updates [default: epochs over the sample, >= 2000]"),
    converge: bool = typer.Option(True, "--converge/--no-converge",
                                  help="stop once the codes stop getting more stable"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, …"),
    workers: int | None = typer.Option(None, "--workers", help="hashing processes on the CPU "
                                       "[default: the usable CPUs from 4,096 images on]"),
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
