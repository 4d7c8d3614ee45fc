"""`lsun`: LSUN's own distribution, one LMDB per category and split
(`bedroom_train_lmdb/`): keys are hex image ids, values WebP (or JPEG) bytes.

Read-only and lock-free, in key order; each record keeps its LSUN id as source key.
Center-cropped and resized to 64x64 by default, as in the paper.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import DatasetSpec, Record
from gantk.errors import GantkError


def lmdb_path(path: Path) -> Path:
    """SRC itself, or the single `*_lmdb` folder inside it."""
    if (path / "data.mdb").is_file():
        return path
    inside = sorted(p for p in path.glob("*_lmdb") if (p / "data.mdb").is_file())
    if len(inside) == 1:
        return inside[0]
    if inside:
        names = ", ".join(p.name for p in inside)
        raise GantkError(f"{path} holds several LSUN LMDBs ({names}); pass one of them")
    raise GantkError(f"{path} is not an LSUN LMDB (no data.mdb); pass a folder such as "
                     "bedroom_train_lmdb")


def _open_env(path: Path) -> Any:
    import lmdb

    try:
        return lmdb.open(str(lmdb_path(path)), readonly=True, lock=False, readahead=False,
                         max_readers=1, max_dbs=0)
    except lmdb.Error as exc:
        raise GantkError(f"{path}: cannot open the LSUN LMDB ({exc})") from None


def open_lsun(path: Path, options: dict[str, Any]) -> Iterator[Record]:
    with _open_env(path) as env, env.begin() as txn:
        for key, value in txn.cursor():
            yield Record(key.decode("ascii", "backslashreplace"), value)


def lsun_length(path: Path, options: dict[str, Any]) -> int:
    with _open_env(path) as env:
        return int(env.stat()["entries"])


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="lsun", open=open_lsun, length=lsun_length, default_resolution=64, dedup=True,
        description="LSUN's LMDB (e.g. bedroom_train_lmdb: hex ids -> WebP/JPEG bytes); "
                    "center crop, 64x64 by default",
        options=lazy("gantk.datasets.lib.options:NoOptions"),
    ))
