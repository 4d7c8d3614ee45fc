"""The denoising autoencoder's corruption: what the input suffers before encoding.

"gaussian" is plain additive noise. "nearcopy" (the default, chosen by measurement: see
docs/dedup.md) first applies what turns a photo into its near-copy — a small random
shift and zoom (sub-pixel, bilinear), a slight blur — and then the additive noise, so the
code learns to ignore exactly the differences a de-duplicator should ignore. Brightness
and contrast need no corruption: per-image normalization removes them.
"""

from __future__ import annotations

import torch

CORRUPTIONS = ("nearcopy", "gaussian")


def normalize_batch(x: torch.Tensor, how: str) -> torch.Tensor:
    """Torch twin of crops.normalize for `(N, C, H, W)` floats in 0..255 -> `(N, D)`
    (flattened in the same height, width, channel order)."""
    from gantk.datasets.dedup.crops import _STD_FLOOR

    flat = x.permute(0, 2, 3, 1).flatten(1)
    if how == "none":
        return flat / 127.5 - 1.0
    # two passes, as numpy's std: on one thread ~7x faster than torch.var_mean's
    # single-pass kernel for a (128, 3072) batch (2.7 vs 0.4 ms, docs/dedup.md)
    centered = flat - flat.mean(dim=1, keepdim=True)
    std = centered.square().mean(dim=1, keepdim=True).sqrt()
    return centered / std.clamp_min(_STD_FLOOR)


def sampling_matrices(params: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image `(N, size, size)` row and column resampling matrices of a `(scale,
    shift_x, shift_y)` warp (shifts in grid units: the side is 2).

    A warp without rotation is separable, so bilinear resampling with the border repeated
    (exactly what `grid_sample(padding_mode="border", align_corners=False)` computes) is
    `rows @ image @ cols.T`: two small batched matrix products instead of a sampling grid.
    """
    n = len(params)
    base = (2 * torch.arange(size, dtype=params.dtype, device=params.device) + 1) / size - 1

    def matrix(shift: torch.Tensor) -> torch.Tensor:
        src = params[:, :1] * base + shift[:, None]  # (N, size) in grid units
        u = (((src + 1) * size - 1) / 2).clamp(0, size - 1)
        lo = u.floor()
        frac = u - lo
        lo = lo.long()
        out = torch.zeros(n, size, size, dtype=params.dtype, device=params.device)
        out.scatter_add_(2, lo[..., None], (1 - frac)[..., None])
        out.scatter_add_(2, (lo + 1).clamp_max(size - 1)[..., None], frac[..., None])
        return out

    return matrix(params[:, 2]), matrix(params[:, 1])


def blur_matrices(sigma: torch.Tensor, size: int) -> torch.Tensor:
    """`(N, size, size)` 3-tap Gaussian blur (border repeated) of standard deviation
    `sigma` per image, as a matrix applied to rows and columns alike."""
    side = torch.exp(-1 / (2 * sigma.clamp_min(1e-3) ** 2))
    edge = (side / (1 + 2 * side))[:, None, None]
    eye = torch.eye(size, dtype=sigma.dtype, device=sigma.device)
    near = torch.diag(torch.ones(size - 1, dtype=sigma.dtype, device=sigma.device), 1)
    near = near + near.T
    near[0, 0] = near[-1, -1] = 1  # the repeated border pixel
    return (1 - 2 * edge) * eye + edge * near


def affine(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Resample `(N, C, H, W)` (H == W) bilinearly (border repeated) under per-image
    `(scale, shift_x, shift_y)` `(N, 3)`: shifts in grid units (the side is 2), scale > 1
    zooms out. Each image is resampled on its own (no batch-dependent arithmetic)."""
    rows, cols = sampling_matrices(params.to(x.dtype), x.shape[-1])
    return rows[:, None] @ x @ cols[:, None].transpose(-1, -2)


def warp(x: torch.Tensor, generator: torch.Generator, shift: float = 0.1,
         zoom: float = 0.08, blur: float = 0.5) -> torch.Tensor:
    """Random shift (up to `shift` grid units: half that of the side), zoom (1 +- `zoom`)
    and blur per image: one pair of resampling matrices per image (warp, then blur)."""
    n, size = len(x), x.shape[-1]
    rand = torch.rand((n, 4), generator=generator, device="cpu").to(x.device, x.dtype)
    params = torch.stack([1 + zoom * (2 * rand[:, 0] - 1),
                          *(shift * (2 * rand[:, 1:3] - 1)).unbind(1)], dim=1)
    rows, cols = sampling_matrices(params, size)
    soften = blur_matrices(blur * rand[:, 3], size)
    rows, cols = soften @ rows, soften @ cols
    return rows[:, None] @ x @ cols[:, None].transpose(-1, -2)


def corrupt_pair(crops: torch.Tensor, how: str, normalization: str,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 crops `(N, 32, 32, 3)` -> (input, clean target), both normalized `(N, 3072)`."""
    x = crops.permute(0, 3, 1, 2).float().contiguous()
    target = normalize_batch(x, normalization)
    if how == "gaussian":
        return target, target
    if how != "nearcopy":
        raise ValueError(f"unknown corruption {how!r}; use one of {CORRUPTIONS}")
    return normalize_batch(warp(x, generator), normalization), target
