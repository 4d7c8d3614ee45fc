"""Feeding an ImageStore to training: a batched torch Dataset and a resumable sampler."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from gantk.store import ImageStore


class ImageStoreDataset(Dataset):
    """Images as uint8 `(C, H, W)` tensors (scaled to [-1, 1] on the device, which is
    cheaper to copy) plus labels (-1 when unlabeled). Fetches whole batches in one LMDB
    transaction via `__getitems__`; the environment opens lazily in each worker."""

    def __init__(self, path: str | os.PathLike[str]):
        self.store = ImageStore(Path(path))

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        images, labels = self.__getitems__([index])
        return images[0], int(labels[0])

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.store.get_many(indices)
        if labels is None:
            labels = np.full(len(indices), -1, np.int64)
        return torch.from_numpy(images).permute(0, 3, 1, 2), torch.from_numpy(labels)


def _pass_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of a fresh seeded permutation each epoch, starting at any global step.

    The order is a pure function of (seed, step), so a resumed run sees exactly the
    batches an uninterrupted one would have (dropping each epoch's ragged tail).
    When `world_size > 1` each rank takes its own slice of every global batch.
    """

    def __init__(self, count: int, batch_size: int, seed: int, start_step: int = 0,
                 rank: int = 0, world_size: int = 1):
        global_batch = batch_size * world_size
        if count < global_batch:
            raise ValueError(f"the store holds {count} images, fewer than one batch of "
                             f"{global_batch}; lower --batch-size")
        self.count, self.batch_size, self.seed = count, batch_size, seed
        self.start_step, self.rank, self.world_size = start_step, rank, world_size
        self.batches_per_epoch = count // global_batch

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            epoch, offset = divmod(step, self.batches_per_epoch)
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(self.count, generator=gen).numpy()
            global_batch = self.batch_size * self.world_size
            for b in range(offset, self.batches_per_epoch):
                start = b * global_batch + self.rank * self.batch_size
                yield perm[start:start + self.batch_size].tolist()
            step = (epoch + 1) * self.batches_per_epoch

    def __len__(self) -> int:  # infinite; DataLoader only needs this for len()
        return 2**62


def make_loader(dataset: ImageStoreDataset, sampler: EpochBatchSampler, num_workers: int,
                pin_memory: bool) -> DataLoader:
    """A DataLoader of whole batches (no per-sample collation)."""
    return DataLoader(
        dataset, batch_sampler=sampler, num_workers=num_workers, collate_fn=_pass_batch,
        pin_memory=pin_memory, persistent_workers=False,
        prefetch_factor=4 if num_workers else None,
        # its own generator, so creating the loader leaves the global RNG untouched
        generator=torch.Generator().manual_seed(sampler.seed),
    )


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the paper's only pre-processing."""
    return images.float().div_(127.5).sub_(1.0)
