"""Image grids as PNG files: sample grids, store previews, figures."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gantk.atomic import atomic_path

if TYPE_CHECKING:
    import torch


def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """`(N, C, H, W)` floats in [-1, 1] (or `(N, H, W, C)` uint8) -> `(N, H, W, C)` uint8."""
    if isinstance(images, np.ndarray) and images.dtype == np.uint8:
        return images
    arr = images.detach().float().cpu().numpy() if hasattr(images, "detach") else images
    arr = np.clip((arr + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return arr.transpose(0, 2, 3, 1)


def grid_array(images: torch.Tensor | np.ndarray, nrow: int | None = None,
               padding: int = 2, scale: int = 1) -> np.ndarray:
    """Tile images into one `(H, W, 3)` uint8 array with a white border."""
    arr = to_uint8(images)
    n, h, w, c = arr.shape
    if c == 1:
        arr = np.repeat(arr, 3, axis=3)
    if scale > 1:
        arr = arr.repeat(scale, axis=1).repeat(scale, axis=2)
        h, w = h * scale, w * scale
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / nrow))
    grid = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, 3), 255,
                   np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y:y + h, x:x + w] = arr[i]
    return grid


def save_grid(images: torch.Tensor | np.ndarray, path: str | os.PathLike[str],
              nrow: int | None = None, numbered: bool = False, scale: int = 2) -> Path:
    """Save a grid PNG atomically; `numbered` writes each image's index in its corner."""
    from PIL import Image, ImageDraw

    grid = grid_array(images, nrow=nrow, scale=scale)
    picture = Image.fromarray(grid)
    if numbered:
        arr = to_uint8(images)
        n, h, w, _ = arr.shape
        h, w = h * scale, w * scale
        nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
        draw = ImageDraw.Draw(picture)
        for i in range(n):
            r, col = divmod(i, nrow)
            x, y = 2 + col * (w + 2), 2 + r * (h + 2)
            draw.rectangle([x, y, x + 6 * len(str(i)) + 2, y + 10], fill=(0, 0, 0))
            draw.text((x + 1, y - 1), str(i), fill=(255, 255, 0))
    path = Path(path)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
    return path
