"""`gantk sweep PRESET --grid key=a,b --seeds N`: every grid point x seed as an ordinary run
under OUT, continued where it stopped when run again (gantk.experiments.sweep)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from gantk.experiments.manifest import Manifest
    from gantk.experiments.sweep import Sweep


def sweep(
    preset: str | None = typer.Argument(None, help="preset name; optional when --config "
                                        "names one"),
    grid: list[str] = typer.Option([], "--grid", help="key=value1,value2,… (any config key, "
                                   "model.X too); repeat for more keys: every combination runs"),
    seeds: int = typer.Option(1, "--seeds", min=1, help="runs per point, seeds 0..N-1"),
    data: Path | None = typer.Option(None, "--data", help="ImageStore (default: the demo)"),
    steps: int | None = typer.Option(None, "--steps", help="generator updates per run"),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda or auto"),
    overrides: list[str] = typer.Option([], "--set", help="config key=value for every run"),
    config_file: Path | None = typer.Option(None, "--config", help="run file for every run"),
    out: Path | None = typer.Option(None, "--out", help="sweep folder (default: "
                                    "$GANTK_HOME/runs/sweep-PRESET-TIME); an existing sweep "
                                    "there is continued"),
    parallel: int = typer.Option(1, "--parallel", min=1, help="runs at a time, each in its "
                                 "own process with its share of the cores (or a GPU each)"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="run failed runs again"),
) -> None:
    """Train every point of the grid with every seed, then `gantk compare OUT`.

    Ctrl-C (or a kill) stops it; the same command continues it: finished runs are skipped,
    a half-done run is resumed exactly from its checkpoint."""
    from gantk.experiments.grid import parse_grid
    from gantk.experiments.sweep import Sweep, open_sweep
    from gantk.training.request import RunRequest, default_out

    base = RunRequest(preset, data, None, False, {"steps": steps, "batch_size": batch_size,
                                                  "device": device}, list(overrides),
                      config_file)
    name = base.preset_name()
    out = out or default_out(f"sweep-{name}")
    plan = Sweep(base, parse_grid(grid), list(range(seeds)), out)
    manifest = open_sweep(plan, retry_failed)  # every run checked before any work
    _run(plan, manifest, parallel)


def _run(plan: Sweep, manifest: Manifest, parallel: int) -> None:
    from gantk.experiments.manifest import DONE, FAILED
    from gantk.experiments.sweep import SweepInterrupted, run_sweep
    from gantk.progress import console, progress_bar

    again = f"run the same command with --out {plan.out} to continue"
    counts = manifest.counts()
    console.print(f"sweep {plan.out}: {len(manifest.runs)} runs, {counts[DONE]} done, "
                  f"{counts[FAILED]} failed before", highlight=False)
    try:
        run_sweep(plan, manifest, log=lambda m: console.print(m, highlight=False),
                  bar=progress_bar, parallel=parallel)
    except SweepInterrupted:
        print(f"interrupted; {again}")
        raise typer.Exit(130) from None
    counts = manifest.counts()
    print(f"done: {counts[DONE]} runs finished, {counts[FAILED]} failed "
          f"(reasons in {plan.out / 'sweep.json'})")
    print(f"compare them: gantk compare {plan.out}")


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
