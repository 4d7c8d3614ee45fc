"""`imagenet`: ILSVRC2012 as distributed, labeled by WordNet id (sorted wnids -> 0..999).

- the train tree `train/<wnid>/*.JPEG` (SRC is `train/` or the folder holding it;
  `-o split=val` reads `val/<wnid>/` the same way);
- the original `ILSVRC2012_img_train.tar`, a tar of per-class tars (`n01440764.tar`),
  streamed member by member without unpacking to disk. Images directly in the outer tar
  (the flat validation tar) are read unlabeled.

The paper's 32x32 "min-resized center crops" are the default transform (the center
square resized, which equals resizing the short side and cropping the center).
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import DatasetSpec, Record, Skipped
from gantk.datasets.lib.files import image_files, is_hidden, is_image_name, source_key
from gantk.errors import GantkError

WNID = re.compile(r"^n\d{8}$")


def _is_tar(path: Path) -> bool:
    return path.is_file() and tarfile.is_tarfile(path)


def _tree_root(path: Path, options: dict[str, Any]) -> Path:
    split = options.get("split", "train")
    if (path / split).is_dir():
        return path / split
    if any(WNID.match(p.name) for p in path.iterdir() if p.is_dir()):
        return path
    raise GantkError(f"{path}: no {split}/ folder and no <wnid>/ folders such as n01440764; "
                     "pass ILSVRC2012's train folder or ILSVRC2012_img_train.tar")


def _tree_wnids(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and WNID.match(p.name))


def _class_tars(outer: tarfile.TarFile) -> list[tarfile.TarInfo]:
    return [m for m in outer.getmembers()
            if m.isfile() and m.name.endswith(".tar") and WNID.match(Path(m.name).stem)
            and not is_hidden(Path(m.name).name)]


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise GantkError(f"{path}: not a readable tar archive ({exc})") from None


def imagenet_classes(path: Path, options: dict[str, Any]) -> list[str]:
    if _is_tar(path):
        with _open_tar(path) as outer:
            return sorted(Path(m.name).stem for m in _class_tars(outer))
    return _tree_wnids(_tree_root(path, options))


def _open_tree(path: Path, options: dict[str, Any]) -> Iterator[Record]:
    root = _tree_root(path, options)
    for label, wnid in enumerate(_tree_wnids(root)):
        for rel in image_files(root / wnid):
            yield Record(source_key(f"{wnid}/{rel}"), root / wnid / rel, label)


def _read_members(archive: tarfile.TarFile, members: Iterable[tarfile.TarInfo], prefix: str,
                  label: int | None) -> Iterator[Record | Skipped]:
    for member in members:
        if not (member.isfile() and is_image_name(Path(member.name).name)):
            continue
        key = source_key(prefix + member.name)
        try:
            data = archive.extractfile(member).read()
        except (tarfile.TarError, OSError) as exc:
            yield Skipped(key, f"unreadable archive member ({exc})")
            continue
        yield Record(key, data, label)


def _class_archive(outer: tarfile.TarFile, member: tarfile.TarInfo,
                   label: int) -> Iterator[Record | Skipped]:
    """One class tar, streamed; a damaged one is reported and the rest goes on."""
    try:
        with tarfile.open(fileobj=outer.extractfile(member), mode="r:") as inner:
            yield from _read_members(inner, inner, member.name + "/", label)
    except (tarfile.TarError, OSError) as exc:
        yield Skipped(source_key(member.name), f"broken class archive ({exc})")


def _open_archive(path: Path) -> Iterator[Record | Skipped]:
    """Class tars in archive order (labels from sorted wnids), then loose images."""
    with _open_tar(path) as outer:
        members = _class_tars(outer)
        label_of = {Path(m.name).stem: i for i, m in
                    enumerate(sorted(members, key=lambda m: Path(m.name).stem))}
        for member in members:
            yield from _class_archive(outer, member, label_of[Path(member.name).stem])
        class_tars = {m.name for m in members}
        loose = [m for m in outer.getmembers() if m.name not in class_tars]
        yield from _read_members(outer, loose, "", None)


def open_imagenet(path: Path, options: dict[str, Any]) -> Iterator[Record | Skipped]:
    return _open_archive(path) if _is_tar(path) else _open_tree(path, options)


def imagenet_length(path: Path, options: dict[str, Any]) -> int | None:
    """Counted for the tree; unknown for the tar (counting would read all 138 GB)."""
    if _is_tar(path):
        return None
    root = _tree_root(path, options)
    return sum(len(image_files(root / wnid)) for wnid in _tree_wnids(root))


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="imagenet", open=open_imagenet, length=imagenet_length,
        classes=imagenet_classes, default_resolution=32,
        description="ILSVRC2012 train/<wnid>/*.JPEG or ILSVRC2012_img_train.tar (tar of "
                    "class tars, streamed); labels from sorted wnids; 32x32 by default",
        options=lazy("gantk.datasets.lib.options:ImagenetOptions"),
    ))
