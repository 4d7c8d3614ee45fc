"""Where a hash-model training step's time goes, one thread, against the old warp.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup_train_step.py [--batch 128]

Times (best of 7 rounds of 10) each part of gantk's training step on random crops: the
near-copy corruption (gantk's separable resampling matrices, and as the reference in the
same run the grid-sampling warp gantk used before: affine_grid + grid_sample + a grouped
3-tap blur convolution with per-image kernels), the per-image normalization (gantk's two
passes, and torch.var_mean as before), forward and backward with and without the
bit-stability term, the Adam update, a whole step with its batch made in line, and a step
of the library's own loop (`train._fit`: the next batch made on a second thread).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from gantk.datasets.dedup.autoencoder import HashAutoencoder
from gantk.datasets.dedup.corruption import corrupt_pair, normalize_batch, warp


def grid_sample_warp(x: torch.Tensor, generator: torch.Generator, shift: float = 0.1,
                     zoom: float = 0.08, blur: float = 0.5) -> torch.Tensor:
    """The reference: the warp as gantk computed it before (same random draws)."""
    n = len(x)
    rand = torch.rand((n, 4), generator=generator)
    params = torch.stack([1 + zoom * (2 * rand[:, 0] - 1),
                          *(shift * (2 * rand[:, 1:3] - 1)).unbind(1)], dim=1)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = params[:, 0]
    theta[:, :, 2] = params[:, 1:3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    kernel = torch.stack([torch.exp(-torch.arange(-1, 2) ** 2 / (2 * s.clamp_min(1e-3) ** 2))
                          for s in blur * rand[:, 3]])
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    c = x.shape[1]
    rows = kernel.repeat_interleave(c, 0)[:, None, None, :]
    x = F.conv2d(F.pad(x.reshape(1, n * c, *x.shape[2:]), (1, 1, 0, 0), mode="replicate"),
                 rows, groups=n * c)
    x = F.conv2d(F.pad(x, (0, 0, 1, 1), mode="replicate"), rows.transpose(2, 3), groups=n * c)
    return x.reshape(n, c, *x.shape[2:])


def var_mean_normalize(x: torch.Tensor) -> torch.Tensor:
    """The reference: the per-image normalization as gantk computed it before."""
    flat = x.permute(0, 2, 3, 1).flatten(1)
    var, mean = torch.var_mean(flat, dim=1, keepdim=True, correction=0)
    return (flat - mean) / var.sqrt().clamp_min(4.0)


def library_loop_ms(crops: np.ndarray, steps: int = 100, rounds: int = 3) -> float:
    """Wall ms per step of gantk's training loop (best of `rounds` runs of `steps`)."""
    from gantk.datasets.dedup.train import _fit

    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        _fit(crops, torch.device("cpu"), seed=0, batch_size=128, lr=1e-3, noise=0.2,
             dropout=0.2, epochs=1, min_steps=0, max_steps=steps, converge=False,
             normalization="image", corruption="nearcopy", stability=5.0, margin=1.0,
             progress=None)
        best = min(best, (time.perf_counter() - started) / steps)
    return 1e3 * best


def best_ms(fn, rounds: int = 7, calls: int = 10) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - started) / calls)
    return 1e3 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    crops = torch.from_numpy(rng.integers(0, 256, (args.batch, 32, 32, 3), dtype=np.uint8))
    x4 = crops.permute(0, 3, 1, 2).float().contiguous()
    gen = torch.Generator().manual_seed(0)
    net = HashAutoencoder()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    x, target = corrupt_pair(crops, "nearcopy", "image", gen)

    def backward(stability: bool) -> None:
        loss = F.mse_loss(net(x), target)
        if stability:
            loss = loss + 5 * net.stability_loss(x, target, 1.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()

    def step() -> None:
        xs, ts = corrupt_pair(crops, "nearcopy", "image", gen)
        loss = F.mse_loss(net(xs), ts) + 5 * net.stability_loss(xs, ts, 1.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    parts = {
        "warp, grid sampling (before)": lambda: grid_sample_warp(x4, gen),
        "warp, resampling matrices (now)": lambda: warp(x4, gen),
        "normalize one batch, torch.var_mean (before)": lambda: var_mean_normalize(x4),
        "normalize one batch, two passes (now)": lambda: normalize_batch(x4, "image"),
        "corruption + both normalizations (now)": lambda: corrupt_pair(crops, "nearcopy",
                                                                       "image", gen),
        "forward + backward, MSE only": lambda: backward(False),
        "forward + backward, MSE + stability": lambda: backward(True),
        "Adam update": optimizer.step,
        "whole step, batch made in line": step,
    }
    print(f"batch {args.batch}, {torch.get_num_threads()} torch thread(s); ms, best of 7x10")
    for name, fn in parts.items():
        print(f"{name:50s} {best_ms(fn):7.2f}", flush=True)
    many = rng.integers(0, 256, (1024, 32, 32, 3), dtype=np.uint8)
    print(f"{'whole step, library loop (next batch on a thread)':50s} "
          f"{library_loop_ms(many):7.2f}", flush=True)


if __name__ == "__main__":
    main()
