"""Feature extractors for the probe, and streaming them over an ImageStore to disk.

An extractor maps a uint8 batch `(N, C, H, W)` to float32 features `(N, D)`. Features are
written batch by batch into a memory-mapped `.npy` file, so no set of images or features
is ever held in memory whole (the paper's CIFAR-10 probe is 60,000 x 28,672 floats = 6.9 GB).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gantk.atomic import atomic_path
from gantk.store import ImageStore
from gantk.training.data import to_model_range

Extractor = Callable[[torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]


def _batches(store: ImageStore, indices: np.ndarray, batch_size: int):
    for start in range(0, len(indices), batch_size):
        images, _ = store.get_many(indices[start:start + batch_size])
        yield start, torch.from_numpy(images).permute(0, 3, 1, 2)


class DiscriminatorFeatures:
    """Every conv layer of `discriminator.features(x)`, max-pooled to `grid` x `grid`,
    flattened and concatenated (the paper: 4x4, 28,672 dims for its ImageNet-32 D)."""

    def __init__(self, discriminator: torch.nn.Module, grid: int = 4, device: str = "cpu"):
        self.net, self.grid, self.device = discriminator.eval(), grid, torch.device(device)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = to_model_range(images.to(self.device))
        maps = self.net.features(x)
        return torch.cat([F.adaptive_max_pool2d(m, self.grid).flatten(1) for m in maps],
                         1).float().cpu()


def pixel_features(images: torch.Tensor) -> torch.Tensor:
    """Raw pixels in [-1, 1], flattened: the baseline every feature must beat."""
    return to_model_range(images).flatten(1)


class _BatchStatistics:
    """Running sums for one BatchNorm layer: its batch means and (unbiased) batch variances,
    each weighted by the number of values per channel in the batch."""

    def __init__(self, norm: torch.nn.modules.batchnorm._BatchNorm):
        self.norm, self.count = norm, 0
        self.mean_sum = torch.zeros(norm.num_features, dtype=torch.float64)
        self.var_sum = torch.zeros(norm.num_features, dtype=torch.float64)

    def __call__(self, module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        x = inputs[0].detach().transpose(0, 1).flatten(1).double()  # (channels, values)
        n = x.shape[1]
        self.mean_sum += x.mean(1).cpu() * n
        self.var_sum += x.var(1).cpu() * n
        self.count += n

    def store(self) -> None:
        norm = self.norm
        norm.running_mean.copy_((self.mean_sum / self.count).to(norm.running_mean))
        norm.running_var.copy_((self.var_sum / self.count).to(norm.running_var))
        norm.num_batches_tracked.zero_()


@torch.no_grad()
def recompute_batchnorm(discriminator: torch.nn.Module, store: ImageStore, indices: np.ndarray,
                        batch_size: int = 128, device: str = "cpu",
                        progress: Progress | None = None) -> int:
    """Replace BatchNorm running statistics by population statistics over `indices`.

    As dcgan_code's svhn_semisup_analysis.py (`infer_bnorm_stats`): every BatchNorm layer
    normalizes each batch with its own statistics while running sums per layer collect the
    batch means and variances, weighted by batch size (a short last batch counts for its
    size, so any number of images streams through at `batch_size` in memory; torch's
    unbiased batch variance, a factor n/(n-1) with n >= 128*16 values). Returns the number
    of BatchNorm layers (0: nothing to do). The model is left in eval mode.
    """
    norms = [m for m in discriminator.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return 0
    sums = [_BatchStatistics(m) for m in norms]
    hooks = [m.register_forward_pre_hook(s) for m, s in zip(norms, sums)]
    discriminator.train()
    try:
        dev = torch.device(device)
        for start, images in _batches(store, indices, batch_size):
            discriminator.features(to_model_range(images.to(dev)))
            if progress:
                progress(min(start + batch_size, len(indices)), len(indices))
        for s in sums:
            s.store()
    finally:
        for h in hooks:
            h.remove()
        discriminator.eval()
    return len(norms)


def extract_to_disk(extract: Extractor, store: ImageStore, indices: Sequence[int] | np.ndarray,
                    path: str | os.PathLike[str], batch_size: int = 256,
                    progress: Progress | None = None) -> np.memmap:
    """Features of `store[indices]` into a float32 `.npy` at `path`, one batch at a time;
    returns it memory-mapped read-only. The file appears only when complete."""
    indices = np.asarray(indices, dtype=np.int64)
    path = Path(path)
    first, _ = store.get_many(indices[:1])
    dim = extract(torch.from_numpy(first).permute(0, 3, 1, 2)).shape[1]
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                        shape=(len(indices), dim))
        for start, images in _batches(store, indices, batch_size):
            out[start:start + len(images)] = extract(images).numpy()
            if progress:
                progress(start + len(images), len(indices))
        out.flush()
        del out
    return np.load(path, mmap_mode="r")
