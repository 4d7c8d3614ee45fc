"""The CelebA layout: `img_align_celeba/` (already aligned face crops, so no detection)
plus its list files, found in SRC, SRC/Anno or SRC/Eval as distributed:
`list_eval_partition.txt` (0 train, 1 valid, 2 test), `identity_CelebA.txt`,
`list_attr_celeba.txt` (a count line, the 40 attribute names, then one row per image).

Options: `split=all|train|valid|test` (default all), `label=identity` or an attribute
name such as `label=Smiling` (1 when the attribute is present, else 0).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gantk.contract.specs import Record, Skipped
from gantk.datasets.lib.files import image_files, source_key
from gantk.errors import GantkError

IMAGES = ("img_align_celeba", "Img/img_align_celeba")
PARTITIONS = {"train": "0", "valid": "1", "test": "2"}


def image_folder(path: Path) -> Path | None:
    """Where the aligned images are, if `path` has the CelebA layout."""
    for rel in IMAGES:
        if (path / rel).is_dir():
            return path / rel
    return None


def _list_file(path: Path, name: str) -> Path | None:
    for folder in (path, path / "Anno", path / "Eval"):
        if (folder / name).is_file():
            return folder / name
    return None


def _rows(path: Path, name: str, skip: int = 0) -> dict[str, list[str]]:
    found = _list_file(path, name)
    if found is None:
        raise GantkError(f"{path}: missing {name} (looked in ., Anno/ and Eval/); it comes "
                         "with CelebA")
    lines = found.read_text(encoding="utf-8", errors="replace").splitlines()[skip:]
    return {parts[0]: parts[1:] for parts in (line.split() for line in lines) if parts}


def _labels(path: Path, options: dict[str, Any]) -> dict[str, int] | None:
    wanted = options.get("label")
    if wanted in (None, "none"):
        return None
    if wanted == "identity":
        return {name: int(row[0]) for name, row in _rows(path, "identity_CelebA.txt").items()}
    found = _list_file(path, "list_attr_celeba.txt")
    header = (found.read_text(encoding="utf-8").splitlines()[1:2] if found else [""])[0].split()
    if wanted not in header:
        known = ", ".join(header) or "none found"
        raise GantkError(f"label={wanted!r}: use identity or a CelebA attribute ({known})")
    column = header.index(wanted)
    return {name: int(row[column] == "1")
            for name, row in _rows(path, "list_attr_celeba.txt", skip=2).items()}


def celeba_classes(path: Path, options: dict[str, Any]) -> list[str] | None:
    wanted = options.get("label")
    if wanted in (None, "none", "identity"):
        return None
    return [f"not {wanted}", str(wanted)]


def open_celeba(path: Path, options: dict[str, Any]) -> Iterator[Record | Skipped]:
    """Records keyed by path relative to SRC, in file-name order, as whole images."""
    folder = image_folder(path)
    split = options.get("split", "all")
    if split != "all" and split not in PARTITIONS:
        raise GantkError(f"unknown split {split!r}; use all, train, valid or test")
    labels = _labels(path, options)
    names = image_files(folder)
    prefix = folder.relative_to(path).as_posix() + "/"
    if split != "all":
        partition = _rows(path, "list_eval_partition.txt")
        wanted = sorted(n for n, row in partition.items() if row[:1] == [PARTITIONS[split]])
        present = set(names)
        names = wanted
    for name in names:
        key = source_key(prefix + name)
        if split != "all" and name not in present:
            yield Skipped(key, "listed in list_eval_partition.txt but not in the folder")
            continue
        yield Record(key, folder / name, None if labels is None else labels.get(name),
                     whole=True)


def celeba_length(path: Path, options: dict[str, Any]) -> int:
    split = options.get("split", "all")
    if split == "all":
        return len(image_files(image_folder(path)))
    code = PARTITIONS.get(split)
    return sum(row[:1] == [code] for row in _rows(path, "list_eval_partition.txt").values())
