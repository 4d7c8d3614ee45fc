"""The denoising autoencoder's corruption: what the input suffers before encoding.

"gaussian" is plain additive noise. "nearcopy" (the default, chosen by measurement: see
docs/dedup.md) first applies what turns a photo into its near-copy — a small random
shift and zoom (sub-pixel, bilinear), a slight blur — and then the additive noise, so the
code learns to ignore exactly the differences a de-duplicator should ignore. Brightness
and contrast need no corruption: per-image normalization removes them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CORRUPTIONS = ("nearcopy", "gaussian")


def normalize_batch(x: torch.Tensor, how: str) -> torch.Tensor:
    """Torch twin of crops.normalize for `(N, C, H, W)` floats in 0..255 -> `(N, D)`
    (flattened in the same height, width, channel order)."""
    from gantk.datasets.dedup.crops import _STD_FLOOR

    flat = x.permute(0, 2, 3, 1).flatten(1)
    if how == "none":
        return flat / 127.5 - 1.0
    flat = flat - flat.mean(dim=1, keepdim=True)
    return flat / flat.std(dim=1, keepdim=True, unbiased=False).clamp_min(_STD_FLOOR)


def affine(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Resample `(N, C, H, W)` bilinearly (border repeated) under per-image `(scale,
    shift_x, shift_y)` `(N, 3)`: shifts in grid units (the side is 2), scale > 1 zooms out."""
    theta = torch.zeros(len(x), 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = params[:, 0]
    theta[:, :, 2] = params[:, 1:3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def warp(x: torch.Tensor, generator: torch.Generator, shift: float = 0.1,
         zoom: float = 0.08, blur: float = 0.5) -> torch.Tensor:
    """Random shift (up to `shift` grid units: half that of the side), zoom (1 +- `zoom`)
    and blur per image."""
    n = len(x)
    rand = torch.rand((n, 4), generator=generator, device="cpu").to(x.device)
    params = torch.stack([1 + zoom * (2 * rand[:, 0] - 1),
                          *(shift * (2 * rand[:, 1:3] - 1)).unbind(1)], dim=1)
    x = affine(x, params)
    sigma = blur * rand[:, 3]
    kernel = torch.stack([torch.exp(-torch.arange(-1, 2, device=x.device) ** 2
                                    / (2 * s.clamp_min(1e-3) ** 2)) for s in sigma])
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    c = x.shape[1]
    rows = kernel.repeat_interleave(c, 0)[:, None, None, :]
    x = F.conv2d(F.pad(x.reshape(1, n * c, *x.shape[2:]), (1, 1, 0, 0), mode="replicate"),
                 rows, groups=n * c)
    x = F.conv2d(F.pad(x, (0, 0, 1, 1), mode="replicate"), rows.transpose(2, 3), groups=n * c)
    return x.reshape(n, c, *x.shape[2:])


def corrupt_pair(crops: torch.Tensor, how: str, normalization: str,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 crops `(N, 32, 32, 3)` -> (input, clean target), both normalized `(N, 3072)`."""
    x = crops.permute(0, 3, 1, 2).float()
    target = normalize_batch(x, normalization)
    if how == "gaussian":
        return target, target
    if how != "nearcopy":
        raise ValueError(f"unknown corruption {how!r}; use one of {CORRUPTIONS}")
    return normalize_batch(warp(x, generator), normalization), target
