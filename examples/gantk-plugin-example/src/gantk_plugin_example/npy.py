"""`example-npy`: images from one `.npy` array of uint8, `(N, H, W)` or `(N, H, W, C)`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gantk.contract.specs import Record
from gantk.errors import GantkError


def _load(path: Path) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except OSError as exc:
        raise GantkError(f"{path}: cannot read it ({exc.strerror or exc}); pass the path of "
                         "a .npy file") from None
    except ValueError as exc:
        raise GantkError(f"{path}: not a .npy array ({exc}); save one with numpy.save") from None
    if array.dtype != np.uint8 or array.ndim not in (3, 4):
        raise GantkError(f"{path}: expected uint8 images (N, H, W[, C]), got {array.dtype} "
                         f"{array.shape}; save array.astype(numpy.uint8) of that shape")
    return array


def open_npy(path: Path, options: dict) -> Iterator[Record]:
    array = _load(path)
    for i in range(array.shape[0]):
        yield Record(f"npy/{i:07d}", np.ascontiguousarray(array[i]))


def npy_length(path: Path, options: dict) -> int:
    return int(_load(path).shape[0])
