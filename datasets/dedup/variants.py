"""Alignment probes: a few fixed shifts and zooms of each crop, hashed and compared too.

A 128-bit code of a 32x32 crop is not shift-invariant: a copy cropped 4% off (a 1.3-pixel
shift at 32x32) often lands more than 2 bits away from its original. So besides its code,
each image is hashed under `VARIANTS` fixed warps (shifts of `SHIFT` of the side in four
directions, zooms of 1 +- `ZOOM`), the same kind of warp the hash model was trained to
ignore. A near-copy then meets its original through whichever warp undoes most of the
difference, and verification compares the kept image with the best-aligned warp of the
candidate. Still linear time: `V + 1` codes per image instead of one.
"""

from __future__ import annotations

import numpy as np

from gantk.datasets.dedup import settings as S
from gantk.errors import GantkError

SHIFT = 0.035  # of the side: the middle of the 2-5% shifts a near-copy typically has
ZOOM = 0.06
DEFAULT_VARIANTS = S.VARIANTS.default
MAX_VARIANTS = 10


def variant_params(count: int) -> list[tuple[float, float, float]]:
    """`(scale, shift_x, shift_y)` per variant (shifts as fractions of the side): the four
    axis shifts, then zoom out and in, then the four diagonal shifts, first `count`."""
    s, d = SHIFT, SHIFT / np.sqrt(2)
    table = [(1.0, s, 0.0), (1.0, -s, 0.0), (1.0, 0.0, s), (1.0, 0.0, -s),
             (1 + ZOOM, 0.0, 0.0), (1 - ZOOM, 0.0, 0.0),
             (1.0, d, d), (1.0, -d, d), (1.0, d, -d), (1.0, -d, -d)]
    if not 0 <= count <= len(table):
        raise GantkError(f"variants must be 0 to {len(table)}, got {count}")
    return table[:count]


def warped_crops(crops: np.ndarray, count: int) -> np.ndarray:
    """uint8 crops `(N, 32, 32, 3)` -> float64 `(N, count, 32, 32, 3)` in 0..255.

    Bilinear resampling with the border repeated, image by image (a crop's variants never
    depend on the batch it came in, so equal images get equal variant codes)."""
    import torch

    from gantk.datasets.dedup.corruption import affine

    n = len(crops)
    out = np.empty((n, count, *crops.shape[1:]), np.float64)
    if n == 0 or count == 0:
        return out
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).double()
    for v, (scale, dx, dy) in enumerate(variant_params(count)):
        params = torch.tensor([[scale, 2 * dx, 2 * dy]], dtype=torch.float64).expand(n, 3)
        out[:, v] = affine(x, params).permute(0, 2, 3, 1).numpy()
    return out
