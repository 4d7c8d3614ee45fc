"""The entry point named in pyproject.toml: one `@hookimpl` per gantk hook.

Only light imports at module level (gantk's public API, numpy-free, torch-free); the
heavy work lives in functions that import what they need when called.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import (
    ArchitectureSpec,
    DatasetSpec,
    EvalSpec,
    LossSpec,
    PresetSpec,
    TrackerSpec,
)

SMOOTH_REAL = 0.9


def build(config):
    from gantk_plugin_example.models import build_upsample_gan

    return build_upsample_gan(config)


def smoothed_d_loss(real_logits, fake_logits):
    """BCE with real target 0.9 (one-sided: fakes keep target 0)."""
    import torch.nn.functional as F

    real = SMOOTH_REAL * F.softplus(-real_logits) + (1 - SMOOTH_REAL) * F.softplus(real_logits)
    return real.mean() + F.softplus(fake_logits).mean()


def nonsaturating_g_loss(fake_logits):
    import torch.nn.functional as F

    return F.softplus(-fake_logits).mean()


def sample_stats(ctx):
    from gantk_plugin_example.evals import sample_stats as run

    return run(ctx)


def open_npy(path: Path, options: dict):
    from gantk_plugin_example.npy import open_npy as run

    return run(path, options)


def npy_length(path: Path, options: dict) -> int:
    from gantk_plugin_example.npy import npy_length as run

    return run(path, options)


@hookimpl
def register_architectures(register):
    register(ArchitectureSpec(
        name="example-upsample", build=build, resolutions=(16, 32, 64),
        capabilities=("features", "conv-features"),  # D's conv maps; no G.hidden()/layers()
        options=lazy("gantk_plugin_example.options:UpsampleOptions"),
        description="G: nearest upsampling + 3x3 convs (no checkerboard); D: strided convs"))


@hookimpl
def register_losses(register):
    register(LossSpec(
        name="example-smoothed", d_loss=smoothed_d_loss, g_loss=nonsaturating_g_loss,
        description="non-saturating loss with one-sided label smoothing (real target 0.9)"))


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="example-sample-stats", run=sample_stats, needs=("model",),
        options=lazy("gantk_plugin_example.options:SampleStatsOptions"),
        description="pixel mean/std/saturation of 64 samples, and their grid",
        baseline_metric="pixel_std", baseline=0.01))


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="example-npy", open=open_npy, length=npy_length, default_resolution=32,
        channels=1, transform="pad",
        description="a .npy array of uint8 images (N, H, W) or (N, H, W, C)"))


@hookimpl
def register_presets(register):
    register(PresetSpec("example", {
        "architecture": "example-upsample", "loss": "example-smoothed", "lr": 2e-4,
        "beta1": 0.5, "batch_size": 64, "epochs": 5,
    }, "example-upsample with one-sided label smoothing"))


def open_csv(run_dir: Path, config):
    from gantk_plugin_example.csv_tracker import CsvTracker

    return CsvTracker(run_dir)


@hookimpl
def register_trackers(register):
    register(TrackerSpec(
        name="example-csv", open=open_csv,
        description="RUN/example-metrics.csv: a row of losses per logging interval"))


def example_metrics(run: Path = typer.Argument(..., help="a run directory")) -> None:
    """Print RUN's last logged metrics (from metrics.jsonl) as JSON."""
    path = run / "metrics.jsonl"
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()] if path.is_file() else []
    if not lines:
        from gantk.errors import GantkError

        raise GantkError(f"{run} has no logged metrics; pass a run written by `gantk run`")
    typer.echo(json.dumps(json.loads(lines[-1]), indent=2))


@hookimpl
def register_commands(app):
    app.command("example-metrics")(example_metrics)
