"""`fashion-mnist` and `mnist`: the IDX format (optionally gzipped) with labels.

Fashion-MNIST is gantk's embedded default data: Debian's `dataset-fashion-mnist` puts
its 70,000 real images under /usr/share/datasets/fashion-mnist. Images are 28x28 and are
padded (not stretched) to 32x32.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import DatasetSpec, Record
from gantk.errors import GantkError

if TYPE_CHECKING:
    import numpy as np

FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
SPLITS = {"train": "train", "test": "t10k"}
# numpy is imported when a file is read, not when the plugin loads (CLI start-up)
_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (`.gz` or plain) into an array of its declared shape."""
    import numpy as np

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise GantkError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = data[4 + 4 * ndim:]
    if len(body) != expected:
        raise GantkError(f"{path} is truncated: {len(body)} bytes of data, {expected} expected")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise GantkError(f"{folder}: missing {stem}(.gz); expected the original IDX files")


def _splits(options: dict[str, Any]) -> list[str]:
    split = options.get("split", "train")
    names = list(SPLITS) if split == "all" else [split]
    for name in names:
        if name not in SPLITS:
            raise GantkError(f"unknown split {name!r}; use train, test or all")
    return names


def open_idx(path: Path, options: dict[str, Any]) -> Iterator[Record]:
    """Records `<split>/<index>` with labels, train split first."""
    for split in _splits(options):
        prefix = SPLITS[split]
        images = read_idx(_find(path, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find(path, f"{prefix}-labels-idx1-ubyte"))
        if len(images) != len(labels):
            raise GantkError(f"{path}: {len(images)} {split} images but {len(labels)} labels")
        for i in range(len(images)):
            yield Record(f"{split}/{i:05d}", images[i], int(labels[i]))


def idx_length(path: Path, options: dict[str, Any]) -> int | None:
    total = 0
    for split in _splits(options):
        header = _find(path, f"{SPLITS[split]}-labels-idx1-ubyte")
        opener = gzip.open if header.suffix == ".gz" else open
        with opener(header, "rb") as fh:
            total += struct.unpack(">I", fh.read(8)[4:8])[0]
    return total


def fashion_mnist_default() -> Path | None:
    return FASHION_MNIST_DEBIAN if FASHION_MNIST_DEBIAN.is_dir() else None


@hookimpl
def register_datasets(register):
    for name, default, rank in (("fashion-mnist", fashion_mnist_default, 0),
                                ("mnist", None, None)):
        register(DatasetSpec(
            name=name, open=open_idx, length=idx_length, default_resolution=32, channels=1,
            transform="pad", default_path=default, demo_rank=rank,
            description=f"{name} IDX files (train/t10k images+labels, .gz or plain); "
                        "option split=train|test|all",
            options=lazy("gantk.datasets.lib.options:IdxOptions"),
        ))
