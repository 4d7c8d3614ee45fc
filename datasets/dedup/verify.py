"""Verifying candidate groups with a pixel distance, so probing can widen without merging
distinct images.

Inside one candidate group (images whose codes collide or lie within the probing radius),
images are taken in index order; each joins the first cluster whose kept image (its first
member) it resembles, or starts a new cluster. Every removed image is thus checked against
the very image that is kept in its place: no chains of "a bit like the previous one".
Resemblance: the Pearson correlation of luminance thumbnails (default 16x16) of the hash
crops' centres, which ignores brightness and contrast changes and survives re-encoding and
slight blur, maximized over a grid of small shifts and zooms of the candidate (`alignments`),
so a shifted or rescaled copy is compared where it lines up with the kept image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from gantk.datasets.dedup import settings as S
from gantk.datasets.dedup.sample import iter_crops
from gantk.store import ImageStore

VERIFY = ("pixels", "none")
DEFAULT_THUMB = S.THUMB.default  # chosen on benchmarks/dedup_quality.py: docs/dedup.md
ALIGN_SHIFT, SHIFT_STEPS = 0.05, 5  # shifts up to 5% of the side each way, in 5 steps
ALIGN_ZOOM, ZOOM_STEPS = 0.08, 3  # zooms 0.92 .. 1.08
MARGIN = 2  # crop pixels left out at each border: warps repeat the border there
_READ_BATCH = 2048
_WARP_BATCH = 128


def alignments() -> np.ndarray:
    """`(A, 3)` `(scale, shift_x, shift_y)` (shifts as fractions of the side), identity
    included."""
    shifts = np.linspace(-ALIGN_SHIFT, ALIGN_SHIFT, SHIFT_STEPS)
    zooms = np.linspace(1 - ALIGN_ZOOM, 1 + ALIGN_ZOOM, ZOOM_STEPS)
    return np.array([(z, dx, dy) for z in zooms for dx in shifts for dy in shifts])


def thumbnails(crops: np.ndarray, size: int = DEFAULT_THUMB,
               aligned: bool = False) -> np.ndarray:
    """`(N, 32, 32, 3)` uint8 -> `(N, size**2)` zero-mean, unit-norm luminance thumbnails of
    the crops' centres; `aligned`: `(N, A, size**2)`, one per alignment of `alignments()`."""
    import torch

    from gantk.datasets.dedup.corruption import affine

    luma = torch.from_numpy(crops.astype(np.float32) @ np.float32([0.299, 0.587, 0.114]))
    luma = luma[:, None]
    if not aligned:
        return _signature(luma, size)
    params = torch.from_numpy(alignments()).float()
    params[:, 1:] *= 2  # grid units: the side is 2
    out = np.empty((len(crops), len(params), size * size), np.float32)
    for start in range(0, len(crops), _WARP_BATCH):
        part = luma[start:start + _WARP_BATCH]
        warped = affine(part.repeat_interleave(len(params), 0), params.repeat(len(part), 1))
        out[start:start + len(part)] = _signature(warped, size).reshape(len(part), len(params),
                                                                        -1)
    return out


def _signature(luma, size: int) -> np.ndarray:
    import torch.nn.functional as F

    centre = luma[:, :, MARGIN:luma.shape[2] - MARGIN, MARGIN:luma.shape[3] - MARGIN]
    small = F.adaptive_avg_pool2d(centre, size).flatten(1).numpy()
    small = small - small.mean(axis=1, keepdims=True)
    return small / np.maximum(np.linalg.norm(small, axis=1, keepdims=True), 1e-3 * size)


def split_group(thumbs: np.ndarray, threshold: float,
                aligned: np.ndarray | None = None) -> list[np.ndarray]:
    """Star clusters (positions into `thumbs`, ascending) around each cluster's first member.

    `aligned` `(N, A, T)`: thumbnails of each member under every alignment; a member
    resembles a kept image when its best alignment does."""
    reps: list[int] = []
    members: list[list[int]] = []
    for i in range(len(thumbs)):
        if reps:
            if aligned is None:
                sims = thumbs[reps] @ thumbs[i]
            else:
                sims = (thumbs[reps] @ aligned[i].T).max(axis=1)
            hit = np.flatnonzero(sims >= threshold)
            if len(hit):
                members[hit[0]].append(i)
                continue
        reps.append(i)
        members.append([i])
    return [np.array(m) for m in members]


def verify_groups(store: ImageStore, groups: list[np.ndarray], threshold: float = 0.93,
                  crop: float = 1.0, thumb: int = DEFAULT_THUMB,
                  progress: Callable[[int, int | None], None] | None = None
                  ) -> list[np.ndarray]:
    """Split each candidate group into verified groups of 2+ images (ascending indices)."""
    total = sum(len(g) for g in groups)
    verified: list[np.ndarray] = []
    done = 0
    for batch in _batches(groups):
        indices = np.concatenate(batch)
        crops = np.concatenate([c for _, c in iter_crops(store, indices, _READ_BATCH, crop)])
        thumbs = thumbnails(crops, thumb)
        aligned = thumbnails(crops, thumb, aligned=True)
        start = 0
        for group in batch:
            part = slice(start, start + len(group))
            start += len(group)
            verified += [group[m] for m in split_group(thumbs[part], threshold, aligned[part])
                         if len(m) > 1]
        done += len(indices)
        if progress:
            progress(done, total)
    verified.sort(key=lambda g: int(g[0]))
    return verified


def _batches(groups: list[np.ndarray]) -> Iterator[list[np.ndarray]]:
    """Groups packed into batches of about `_READ_BATCH` images (bounded memory)."""
    batch: list[np.ndarray] = []
    size = 0
    for group in groups:
        batch.append(group)
        size += len(group)
        if size >= _READ_BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
