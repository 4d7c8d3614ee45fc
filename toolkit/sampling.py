"""Latent sampling and generation, as the paper's code did it."""

from __future__ import annotations

import copy

import torch


def sample_z(n: int, nz: int, dist: str, generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    """z of shape `(n, nz)`: U(-1, 1) (the reference code) or N(0, 1) (the ports)."""
    if dist == "uniform":
        return torch.rand(n, nz, generator=generator, device=device).mul_(2).sub_(1)
    return torch.randn(n, nz, generator=generator, device=device)


@torch.no_grad()
def generate(generator: torch.nn.Module, z: torch.Tensor, batch_stats: bool = True) -> torch.Tensor:
    """Images for `z`. With `batch_stats` BatchNorm normalizes with the batch's own
    statistics, as dcgan_code's sampling function did, on a copy so that the model's
    running statistics and mode are untouched."""
    if not batch_stats:
        return generator(z)
    twin = copy.deepcopy(generator).train()
    return twin(z)
