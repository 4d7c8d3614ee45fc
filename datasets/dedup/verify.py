"""Verifying candidate groups with a pixel distance, so probing can widen without merging
distinct images.

Inside one candidate group (images whose codes collide or lie within the probing radius),
images are taken in index order; each joins the first cluster whose kept image (its first
member) it resembles, or starts a new cluster. Every removed image is thus checked against
the very image that is kept in its place: no chains of "a bit like the previous one".
Resemblance: the Pearson correlation of small (default 8x8) luminance thumbnails of the
hash crops,
which ignores brightness and contrast changes and survives re-encoding and slight blur.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from gantk.datasets.dedup.sample import iter_crops
from gantk.store import ImageStore

VERIFY = ("pixels", "none")
DEFAULT_THUMB = 8  # chosen on benchmarks/dedup_quality.py: see docs/dedup.md
_READ_BATCH = 2048


def thumbnails(crops: np.ndarray, size: int = DEFAULT_THUMB) -> np.ndarray:
    """`(N, 32, 32, 3)` uint8 -> `(N, size**2)` zero-mean, unit-norm luminance thumbnails
    (`size` divides 32)."""
    luma = crops.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    k = luma.shape[1] // size
    small = luma.reshape(len(crops), size, k, size, k).mean(axis=(2, 4)).reshape(len(crops), -1)
    small -= small.mean(axis=1, keepdims=True)
    return small / np.maximum(np.linalg.norm(small, axis=1, keepdims=True), 1e-3 * size)


def split_group(thumbs: np.ndarray, threshold: float) -> list[np.ndarray]:
    """Star clusters (positions into `thumbs`, ascending) around each cluster's first member."""
    reps: list[int] = []
    members: list[list[int]] = []
    for i in range(len(thumbs)):
        if reps:
            sims = thumbs[reps] @ thumbs[i]
            hit = np.flatnonzero(sims >= threshold)
            if len(hit):
                members[hit[0]].append(i)
                continue
        reps.append(i)
        members.append([i])
    return [np.array(m) for m in members]


def verify_groups(store: ImageStore, groups: list[np.ndarray], threshold: float = 0.9,
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
        start = 0
        for group in batch:
            part = thumbs[start:start + len(group)]
            start += len(group)
            verified += [group[m] for m in split_group(part, threshold) if len(m) > 1]
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
