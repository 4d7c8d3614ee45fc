"""`nearest-neighbours`: is the generator copying its training images?

    gantk eval nearest-neighbours --run RUN --data STORE [-o grid=16 -o k=5 -o n=1000]

The figure shows `grid` samples, each followed by its `k` nearest training images
(Euclidean, pixels in [0, 1]). Scores: `nn_distance`, the mean distance from `n` samples to
their nearest training image (small = close to memorized), and `nnd`, dcgan_code's
lib/metrics.nnd_score as its training scripts logged it (`nnd_score(gX, vaX)`: the mean
distance from each of `n` real images to its nearest generated sample; small = the samples
cover the data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec

if TYPE_CHECKING:  # imported inside the functions: listing plugins must not load torch
    import numpy as np
    import torch



def nearest(queries: torch.Tensor, bank: Callable[[], object], k: int) -> tuple[torch.Tensor,
                                                                                  torch.Tensor]:
    """The `k` smallest Euclidean distances from each query `(Q, D)` to rows served in
    chunks `(start, rows)` by `bank()`, with their global row indices."""
    import torch

    q2 = queries.pow(2).sum(1, keepdim=True)
    best_d = torch.full((len(queries), k), float("inf"))
    best_i = torch.zeros((len(queries), k), dtype=torch.long)
    for start, rows in bank():
        d2 = (q2 - 2 * queries @ rows.T + rows.pow(2).sum(1)).clamp_min(0)
        kk = min(k, rows.shape[0])
        d, i = d2.topk(kk, dim=1, largest=False)
        cand_d = torch.cat([best_d, d], 1)
        cand_i = torch.cat([best_i, i + start], 1)
        best_d, pos = cand_d.topk(k, dim=1, largest=False)
        best_i = cand_i.gather(1, pos)
    return best_d.sqrt(), best_i


def _unit(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 HWC or [-1, 1] NCHW -> flat float in [0, 1] (NCHW order)."""
    import numpy as np
    import torch

    if isinstance(images, np.ndarray):
        return torch.from_numpy(images).permute(0, 3, 1, 2).flatten(1).float().div(255)
    return images.float().add(1).div(2).clamp(0, 1).flatten(1)


def run_nearest(ctx: EvalContext) -> EvalResult:
    import numpy as np
    import torch

    from gantk.grids import save_grid
    from gantk.progress import progress_bar
    from gantk.store import ImageStore
    from gantk.training.sampling import generate

    opts = {k.replace("-", "_"): v for k, v in ctx.options.items()}  # checked by the core
    grid, k, n = int(opts.get("grid", 16)), int(opts.get("k", 5)), int(opts.get("n", 1000))
    store = ImageStore(ctx.data)
    total = min(store.count, int(opts.get("max_train", store.count)))
    rows = np.sort(np.random.default_rng(ctx.seed).permutation(store.count)[:total])
    batch = int(opts.get("batch_size", 4096))
    run = ctx.load()
    z = run.sample_z(max(n, grid), seed=ctx.seed)
    samples = torch.cat([generate(run.generator, part).cpu() for part in z.split(256)])
    flat = _unit(samples)

    def bank():
        for start in range(0, total, batch):
            images, _ = store.get_many(rows[start:start + batch])
            yield start, _unit(images)

    with progress_bar("nearest training images") as update:
        dist, idx = nearest(flat, bank, k)
        update(1, 2)
        real_idx = np.sort(np.random.default_rng(ctx.seed + 1).permutation(total)[:n])
        real, _ = store.get_many(rows[real_idx])

        def sample_bank():
            yield 0, flat[:n]

        nnd, _ = nearest(_unit(real), sample_bank, 1)
        update(2, 2)
    tiles = []
    for s in range(min(grid, len(samples))):
        tiles.append(samples[s:s + 1])
        neigh, _ = store.get_many(rows[idx[s].numpy()])
        tiles.append(_unit(neigh).view(-1, store.channels, store.resolution,
                                       store.resolution).mul(2).sub(1))
    figure = save_grid(torch.cat(tiles), ctx.out_dir / "nearest-neighbours.png", nrow=k + 1)
    metrics = {"nn_distance": float(dist[:n, 0].mean()), "nnd": float(nnd[:, 0].mean()),
               "n": float(min(n, len(flat))), "train_images": float(total)}
    return EvalResult(metrics=metrics, figures={"nearest-neighbours": figure},
                      summary=f"mean distance sample -> nearest training image "
                              f"{metrics['nn_distance']:.3f}; dcgan_code nnd "
                              f"{metrics['nnd']:.3f} (pixels in [0, 1]); figure: each row is a "
                              f"sample then its {k} nearest training images")


@hookimpl
def register_evals(register):
    register(EvalSpec("nearest-neighbours", run_nearest,
                      needs=("model", "data"), higher_is_better=True,
                      options=lazy("gantk.plugins.evals.lib.options:NearestOptions"),
                      description="samples beside their nearest training images, and "
                                  "dcgan_code's nearest-neighbour distance score"))
