"""`samples`: a numbered grid of generated images, so a person can point at them.

Other figures (vector arithmetic, filter ablation) take these numbers as input and
redraw the same images from (seed, number).
"""

from __future__ import annotations

from gantk import hookimpl
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec
from gantk.errors import ConfigError

# One grid PNG holds every sample: bounded so a typo (--n 100000000) cannot eat the memory.
MAX_N = 4096
MAX_SCALE = 16
OPTIONS = {"n": f"how many samples (default 64, at most {MAX_N})",
           "nrow": "images per row (default: square)",
           "scale": f"pixel zoom (default 2, at most {MAX_SCALE})"}


def samples(ctx: EvalContext) -> EvalResult:
    from gantk.grids import save_grid
    from gantk.plugins.visualizations.lib.common import (
        check_options,
        numbered_z,
        positive_int,
        render,
        run_record,
        write_json,
    )

    check_options(ctx, "samples", OPTIONS)
    n = positive_int(ctx, "n", 64)
    nrow = positive_int(ctx, "nrow", 8) if "nrow" in ctx.options else None
    scale = positive_int(ctx, "scale", 2)
    if n > MAX_N or scale > MAX_SCALE:
        raise ConfigError(f"samples: n={n}, scale={scale} is too large for one grid (at most "
                          f"n={MAX_N}, scale={MAX_SCALE}); for more images run it several "
                          "times with different --seed")
    run = ctx.load()
    images = render(run, numbered_z(run, ctx.seed, range(n)), ctx.seed)
    grid = save_grid(images, ctx.out_dir / "samples.png", nrow=nrow, numbered=True,
                     scale=scale)
    record = write_json(ctx.out_dir / "samples.json", {**run_record(run, ctx.seed), "n": n})
    return EvalResult(metrics={"n": float(n)}, figures={"samples": grid},
                      files={"record": record},
                      summary=f"{n} numbered samples of seed {ctx.seed} (step {run.step})")


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="samples", run=samples, kind="visualization",
        description="numbered grid of generated images; sample i is a function of (seed, i)",
    ))
