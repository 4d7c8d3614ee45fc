"""`example-sample-stats`: how varied are a trained generator's samples?"""

from __future__ import annotations

import torch

from gantk.contract.options import read
from gantk.contract.specs import EvalContext, EvalResult
from gantk.grids import save_grid
from gantk_plugin_example.options import SampleStatsOptions


@torch.no_grad()
def sample_stats(ctx: EvalContext) -> EvalResult:
    n = read(SampleStatsOptions, "eval", "example-sample-stats", ctx.options).n
    run = ctx.load()
    images = run.generator(run.sample_z(n, seed=ctx.seed)).float().cpu()
    grid = save_grid(images, ctx.out_dir / "samples.png", nrow=8)
    metrics = {"pixel_mean": float(images.mean()), "pixel_std": float(images.std()),
               "saturated": float((images.abs() > 0.99).float().mean())}
    return EvalResult(metrics=metrics, figures={"samples": grid},
                      summary=f"{n} samples from step {run.step}")
