"""`samples`: a numbered grid of generated images, so a person can point at them.

Other figures (vector arithmetic, filter ablation) take these numbers as input and
redraw the same images from (seed, number).
"""

from __future__ import annotations

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec


def samples(ctx: EvalContext) -> EvalResult:
    from gantk.contract.options import read
    from gantk.grids import save_grid
    from gantk.plugins.visualizations.lib.common import (
        numbered_z,
        render,
        run_record,
        write_json,
    )
    from gantk.plugins.visualizations.lib.options import SamplesOptions

    opts = read(SamplesOptions, "visualization", "samples", ctx.options)
    n, nrow = opts.n, opts.nrow
    run = ctx.load()
    images = render(run, numbered_z(run, ctx.seed, range(n)), ctx.seed)
    grid = save_grid(images, ctx.out_dir / "samples.png", nrow=nrow, numbered=True,
                     scale=opts.scale)
    record = write_json(ctx.out_dir / "samples.json", {**run_record(run, ctx.seed), "n": n})
    return EvalResult(metrics={"n": float(n)}, figures={"samples": grid},
                      files={"record": record},
                      summary=f"{n} numbered samples of seed {ctx.seed} (step {run.step})")


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="samples", run=samples, kind="visualization",
        options=lazy("gantk.plugins.visualizations.lib.options:SamplesOptions"),
        description="numbered grid of generated images; sample i is a function of (seed, i)",
    ))
