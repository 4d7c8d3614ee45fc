"""`vector-arithmetic` (paper Fig. 7-8): A - B + C on z averaged over exemplars.

Single samples were unstable in the paper, so each concept is the mean z of (usually 3)
exemplars, chosen by their numbers in the `samples` grid of the same seed. The figure shows
the exemplars, the image of each mean and a 3x3 neighbourhood of the result (uniform
noise of +-0.25 added to it, the centre unchanged), as in the paper. Every z used is saved
in `exemplars.json`; `--exemplars FILE` draws the figure again from such a file.
"""

from __future__ import annotations

import json
from pathlib import Path

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec

CONCEPTS = ("a", "b", "c")
# Used when no exemplars are chosen, so the figure can always be drawn; pick meaningful
# ones from the numbered samples grid for a real experiment.
DEFAULT_EXEMPLARS = {"a": "0,1,2", "b": "3,4,5", "c": "6,7,8"}


def _replay(path: Path) -> dict:
    from gantk.errors import ConfigError

    try:
        saved = json.loads(Path(path).read_text())
        assert all(k in saved["z"] for k in (*CONCEPTS, "neighbours")) and "seed" in saved
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise ConfigError(f"{path}: not an exemplars.json written by vector-arithmetic") from None
    return {k: saved[k] for k in ("seed", *CONCEPTS, "noise", "z")}


def _choose(ctx: EvalContext, run) -> dict:
    """Sample numbers, seed and every z of the figure: from options or a saved file."""
    import torch

    from gantk.errors import ConfigError
    from gantk.plugins.visualizations.lib.common import int_list, number, numbered_z

    if "exemplars" in ctx.options:
        if any(k in ctx.options for k in CONCEPTS):
            raise ConfigError("vector-arithmetic: pass either --exemplars FILE or --a/--b/--c")
        return _replay(ctx.options["exemplars"])
    missing = [k for k in CONCEPTS if k not in ctx.options]
    if len(missing) == len(CONCEPTS):  # nothing chosen (e.g. the Dagster demo job)
        ctx.options.update(DEFAULT_EXEMPLARS)
        missing = []
    if missing:
        raise ConfigError("vector-arithmetic: pick exemplars by their numbers in the samples "
                          f"grid, e.g. --a 3,17,42 --b 5,8,9 --c 1,2,7 (missing: "
                          f"{', '.join(missing)}); see `gantk viz samples --run RUN`")
    chosen = {k: int_list(ctx.options[k], k) for k in CONCEPTS}
    noise = number(ctx, "noise", 0.25)
    gen = torch.Generator().manual_seed(ctx.seed)
    offsets = torch.rand(8, run.config.nz, generator=gen).mul_(2 * noise).sub_(noise)
    z = {k: numbered_z(run, ctx.seed, chosen[k]).cpu().tolist() for k in CONCEPTS}
    return {"seed": ctx.seed, **chosen, "noise": noise,
            "z": {**z, "neighbours": offsets.tolist()}}


def vector_arithmetic(ctx: EvalContext) -> EvalResult:
    import torch

    from gantk.grids import grid_array
    from gantk.plugins.visualizations.lib.canvas import column, panel, row, save_png
    from gantk.plugins.visualizations.lib.common import (
        render,
        run_device,
        run_record,
        write_json,
    )

    run = ctx.load()
    chosen = _choose(ctx, run)
    seed, device = chosen["seed"], run_device(run)
    z = {k: torch.tensor(chosen["z"][k], device=device) for k in CONCEPTS}
    means = {k: z[k].mean(0, keepdim=True) for k in CONCEPTS}
    result = means["a"] - means["b"] + means["c"]
    neighbours = result + torch.tensor(chosen["z"]["neighbours"], device=device)
    hood = torch.cat([neighbours[:4], result, neighbours[4:]])
    images = render(run, torch.cat([*z.values(), *means.values(), hood]), seed)
    counts = [len(z[k]) for k in CONCEPTS]
    exemplars = dict(zip(CONCEPTS, images[:sum(counts)].split(counts)))
    mean_images = dict(zip(CONCEPTS, images[sum(counts):sum(counts) + 3].split(1)))
    hood_images = images[sum(counts) + 3:]

    signs = {"a": "A", "b": "- B", "c": "+ C"}
    rows = [row([panel(grid_array(exemplars[k], nrow=len(exemplars[k]), scale=2),
                       f"{signs[k]}: samples {','.join(map(str, chosen[k]))}"),
                 panel(grid_array(mean_images[k], scale=2), "mean z")]) for k in CONCEPTS]
    right = panel(grid_array(hood_images, nrow=3, scale=2), "= A - B + C (centre), +noise")
    figure = save_png(row([column(rows), right], gap=18), ctx.out_dir / "vector_arithmetic.png")
    saved = write_json(ctx.out_dir / "exemplars.json",
                       {**run_record(run, seed), **chosen})
    change = (hood_images - hood_images[4:5]).abs().mean(dim=(1, 2, 3))
    metrics = {"result_norm": float(result.norm()),
               "neighbour_change": float(change.sum() / 8)}
    return EvalResult(metrics=metrics, figures={"vector_arithmetic": figure},
                      files={"exemplars": saved},
                      summary=f"A({chosen['a']}) - B({chosen['b']}) + C({chosen['c']}), "
                              f"seed {seed}")


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="vector-arithmetic", run=vector_arithmetic, kind="visualization",
        options=lazy("gantk.plugins.visualizations.lib.options:VectorArithmeticOptions"),
        description="paper Fig. 7-8: mean z of exemplars A - B + C with a noisy neighbourhood",
    ))
