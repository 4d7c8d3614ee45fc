"""`latent-walk` (paper Fig. 4): walk through 9 random points of z, one row per leg.

Smooth transitions, with no sharp jumps between frames, are the paper's evidence that the
generator has not memorized training images. The points are numbered samples (default
0-8 of the seed), so each row starts and ends on an image of the `samples` grid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec

if TYPE_CHECKING:
    import torch



def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, slerp: bool) -> torch.Tensor:
    """`steps` points from `a` to `b` (both included), on a line or a great circle."""
    import torch

    t = torch.linspace(0, 1, steps, device=a.device).unsqueeze(1)
    if slerp:
        cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1, 1)
        omega = torch.arccos(cos)
        if omega.sin().abs() > 1e-6:
            return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / omega.sin()
    return (1 - t) * a + t * b


def latent_walk(ctx: EvalContext) -> EvalResult:
    import torch

    from gantk.errors import ConfigError
    from gantk.grids import save_grid
    from gantk.plugins.visualizations.lib.common import (
        flag,
        int_list,
        numbered_z,
        positive_int,
        render,
        run_record,
        write_json,
    )

    points = int_list(ctx.options.get("points", list(range(9))), "points")
    if len(points) < 2:
        raise ConfigError("latent-walk: option points needs at least two sample numbers")
    steps, slerp = positive_int(ctx, "steps", 10), flag(ctx, "slerp")
    run = ctx.load()
    ends = numbered_z(run, ctx.seed, points)
    z = torch.cat([interpolate(a, b, steps, slerp) for a, b in zip(ends, ends[1:])])
    images = render(run, z, ctx.seed)
    legs = images.reshape(len(points) - 1, steps, *images.shape[1:])
    change = (legs[:, 1:] - legs[:, :-1]).abs().mean(dim=(2, 3, 4))  # per frame, [-1, 1] scale
    figure = save_grid(images, ctx.out_dir / "latent_walk.png", nrow=steps)
    record = write_json(ctx.out_dir / "latent_walk.json", {
        **run_record(run, ctx.seed), "points": points, "steps": steps, "slerp": slerp,
        "frame_change": change.tolist()})
    metrics = {"mean_frame_change": float(change.mean()), "max_frame_change": float(change.max())}
    return EvalResult(metrics=metrics, figures={"latent_walk": figure}, files={"record": record},
                      summary=f"{'spherical' if slerp else 'linear'} walk through samples "
                              f"{','.join(map(str, points))} of seed {ctx.seed}")


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="latent-walk", run=latent_walk, kind="visualization",
        options=lazy("gantk.plugins.visualizations.lib.options:LatentWalkOptions"),
        description="paper Fig. 4: interpolation through 9 random points of z (lerp or slerp)",
    ))
