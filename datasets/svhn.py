"""`svhn`: the Street View House Numbers `*_32x32.mat` files (MATLAB, read with scipy),
labeled 0..9 (the files write digit 0 as label 10); `-o split=train|test|extra|all`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import DatasetSpec, Record
from gantk.errors import GantkError

if TYPE_CHECKING:  # numpy is imported where used: listing plugins stays light
    import numpy as np

SPLITS = ("train", "test", "extra")


def _files(path: Path, options: dict[str, Any]) -> list[tuple[str, Path]]:
    """(split, file) pairs: SRC is one .mat file or the folder holding them."""
    if path.is_file():
        return [(path.name.split("_32x32")[0], path)]
    split = options.get("split", "train")
    names = list(SPLITS) if split == "all" else [split]
    if any(name not in SPLITS for name in names):
        raise GantkError(f"unknown split {split!r}; use train, test, extra or all")
    files = [(name, path / f"{name}_32x32.mat") for name in names]
    missing = [f.name for name, f in files if not f.is_file()]
    if missing and split != "all":
        raise GantkError(f"{path}: missing {', '.join(missing)}; expected SVHN's *_32x32.mat")
    return [(name, f) for name, f in files if f.is_file()]


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
        images, labels = mat["X"], mat["y"].reshape(-1)
    except Exception as exc:
        raise GantkError(f"{path} is not an SVHN .mat file ({type(exc).__name__}: {exc})"
                         ) from None
    if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or images.shape[3] != len(labels):
        raise GantkError(f"{path}: X of shape {images.shape}, y of {len(labels)}; expected "
                         "X (32, 32, 3, N) and N labels")
    return images, np.where(labels == 10, 0, labels).astype(np.int64)


def open_svhn(path: Path, options: dict[str, Any]) -> Iterator[Record]:
    """Records `<split>/<index>` with labels 0..9."""
    import numpy as np

    for split, file in _files(path, options):
        images, labels = _load(file)
        for i in range(images.shape[3]):
            yield Record(f"{split}/{i:06d}", np.ascontiguousarray(images[:, :, :, i]),
                         int(labels[i]))


def svhn_length(path: Path, options: dict[str, Any]) -> int | None:
    from scipy.io import whosmat

    total = 0
    for _, file in _files(path, options):
        try:
            shapes = {name: shape for name, shape, _ in whosmat(file)}
        except Exception:
            return None  # open_svhn reports the bad file
        total += shapes.get("y", (0,))[0]
    return total


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="svhn", open=open_svhn, length=svhn_length, default_resolution=32,
        classes=lambda path, options: [str(d) for d in range(10)],
        description="SVHN *_32x32.mat (folder or one file), labeled 0..9; "
                    "option split=train|test|extra|all",
        options=lazy("gantk.datasets.lib.options:SvhnOptions"),
    ))
