"""`cifar10`: the `cifar-10-batches-py` pickles (or `cifar-10-python.tar.gz` unopened),
with labels; `-o split=train|test|all` (train: data_batch_1..5, test: test_batch).

The batches are pickles, so they are read with an unpickler that only rebuilds numpy
arrays, lists, dicts and strings: a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import DatasetSpec, Record
from gantk.errors import GantkError

if TYPE_CHECKING:  # numpy is imported where used: listing plugins stays light
    import numpy as np

FOLDER = "cifar-10-batches-py"
SPLITS = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(data: bytes, where: str) -> dict:
    try:
        obj = _ArraysOnly(io.BytesIO(data), encoding="latin1").load()
    except Exception as exc:
        raise GantkError(f"{where} is not a CIFAR-10 batch ({type(exc).__name__}: {exc}); "
                         "re-download cifar-10-python.tar.gz") from None
    if not isinstance(obj, dict):
        raise GantkError(f"{where} is not a CIFAR-10 batch (no dict inside)")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _batch_names(options: dict[str, Any]) -> list[str]:
    split = options.get("split", "train")
    if split == "all":
        return SPLITS["train"] + SPLITS["test"]
    if split not in SPLITS:
        raise GantkError(f"unknown split {split!r}; use train, test or all")
    return SPLITS[split]


def _read(path: Path, names: list[str]) -> list[bytes]:
    """The named batch files from the folder, its parent, or the .tar.gz."""
    if path.is_file():
        try:
            with tarfile.open(path, mode="r:*") as archive:
                return [archive.extractfile(f"{FOLDER}/{name}").read() for name in names]
        except KeyError as exc:
            raise GantkError(f"{path} has no {exc.args[0]}") from None
        except (tarfile.TarError, OSError, AttributeError) as exc:
            raise GantkError(f"{path}: not cifar-10-python.tar.gz ({exc})") from None
    folder = path if (path / "batches.meta").is_file() else path / FOLDER
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise GantkError(f"{folder}: missing {', '.join(missing)}; expected the {FOLDER} files")
    return [(folder / name).read_bytes() for name in names]


def _batch(data: bytes, name: str) -> tuple[np.ndarray, list[int]]:
    import numpy as np

    batch = _unpickle(data, name)
    data, labels = np.asarray(batch.get("data")), batch.get("labels")
    if data.ndim != 2 or data.shape[1] != 3072 or labels is None or len(labels) != len(data):
        raise GantkError(f"{name}: expected data of shape (N, 3072) and N labels, "
                         f"got {data.shape} and {None if labels is None else len(labels)}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.uint8), list(labels)


def open_cifar10(path: Path, options: dict[str, Any]) -> Iterator[Record]:
    """Records `<batch>/<index>` (HWC uint8 arrays) with labels 0..9."""
    names = _batch_names(options)
    for name, data in zip(names, _read(path, names)):
        images, labels = _batch(data, name)
        for i in range(len(images)):
            yield Record(f"{name}/{i:05d}", images[i], int(labels[i]))


def cifar10_classes(path: Path, options: dict[str, Any]) -> list[str]:
    names = _unpickle(_read(path, ["batches.meta"])[0], "batches.meta").get("label_names", [])
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="cifar10", open=open_cifar10, classes=cifar10_classes,
        length=lambda path, options: 10_000 * len(_batch_names(options)),
        default_resolution=32,
        description="CIFAR-10 python batches (folder or .tar.gz), labeled; "
                    "option split=train|test|all",
        options=lazy("gantk.datasets.lib.options:Cifar10Options"),
    ))
