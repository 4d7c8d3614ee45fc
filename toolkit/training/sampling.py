"""Latent sampling and generation, as the paper's code did it."""

from __future__ import annotations

import copy

import torch
from torch import nn


def sample_z(n: int, nz: int, dist: str, generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    """z of shape `(n, nz)`: U(-1, 1) (the reference code) or N(0, 1) (the ports)."""
    if dist == "uniform":
        return torch.rand(n, nz, generator=generator, device=device).mul_(2).sub_(1)
    return torch.randn(n, nz, generator=generator, device=device)


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, batch_stats: bool = True,
             reference: torch.Tensor | None = None) -> torch.Tensor:
    """Images for `z`. With `batch_stats` BatchNorm normalizes with the batch's own
    statistics, as dcgan_code's sampling function did, on a copy so that the model's
    running statistics and mode are untouched. With a `reference` batch of z, BatchNorm
    uses that batch's statistics instead, so an image no longer depends on what else is
    in its batch (`generate(g, ref, reference=ref)` equals `generate(g, ref)`)."""
    if not batch_stats:
        return generator(z)
    twin = copy.deepcopy(generator).train()
    if reference is not None:
        freeze_batch_stats(twin, reference)
    return twin(z)


@torch.no_grad()
def freeze_batch_stats(model: nn.Module, reference: torch.Tensor) -> nn.Module:
    """In place: run `reference` through `model` with batch statistics, then keep each
    BatchNorm layer's statistics of that batch as its running statistics and switch to
    eval mode. Forward hooks already on `model` take part in the reference pass."""
    captured: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def capture(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        x = args[0]
        dims = [d for d in range(x.dim()) if d != 1]
        captured[module] = (x.mean(dims), x.var(dims, unbiased=False))

    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    handles = [m.register_forward_pre_hook(capture) for m in norms]
    try:
        model.train()(reference)
    finally:
        for handle in handles:
            handle.remove()
    for m in norms:
        mean, var = captured[m]
        m.track_running_stats = True
        m.running_mean, m.running_var = mean.clone(), var.clone()
    return model.eval()
