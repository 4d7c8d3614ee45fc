"""Reading store images as hash-model crops, in bounded batches."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gantk.datasets.dedup.crops import center_crops
from gantk.store import ImageStore


def iter_crops(store: ImageStore, indices: np.ndarray, batch_size: int = 512,
               crop: float = 1.0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield `(indices, crops)` batches; only one batch of full images is in memory."""
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        images, _ = store.get_many(chunk)
        yield chunk, center_crops(images, crop)


def sample_indices(count: int, sample: int | None, seed: int) -> np.ndarray:
    """A seeded random subset (sorted, for LMDB locality), or everything."""
    if sample is None or sample >= count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=sample, replace=False))
