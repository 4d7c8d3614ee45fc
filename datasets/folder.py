"""`folder`: any tree of images, optionally labeled by first-level sub-folder name.

With `-o labels=true`, `cats/a.jpg` and `dogs/b.png` get labels 0 and 1 (sorted folder
names); images directly in SRC stay unlabeled.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import DatasetSpec, Record
from gantk.datasets.lib.files import image_files, source_key
from gantk.errors import GantkError


def _labels_wanted(options: dict[str, Any]) -> bool:
    value = options.get("labels", False)
    if value in (True, False):
        return bool(value)
    raise GantkError(f"option labels={value!r}: use labels=true or labels=false")


def _classes(files: list[str]) -> list[str]:
    return sorted({rel.split("/", 1)[0] for rel in files if "/" in rel})


def folder_classes(path: Path, options: dict[str, Any]) -> list[str] | None:
    """Sorted names of the first-level sub-folders that hold images (when labeled)."""
    return _classes(image_files(path)) if _labels_wanted(options) else None


def open_folder(path: Path, options: dict[str, Any]) -> Iterator[Record]:
    """One record per image file, keyed by its path relative to SRC, in sorted order."""
    files = image_files(path)
    classes = _classes(files) if _labels_wanted(options) else None
    index = {name: i for i, name in enumerate(classes or [])}
    for rel in files:
        label = index.get(rel.split("/", 1)[0]) if classes and "/" in rel else None
        yield Record(source_key(rel), path / rel, label)


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="folder", open=open_folder, classes=folder_classes,
        length=lambda path, options: len(image_files(path)),
        description="any folder tree of images (jpg, png, webp, gif, bmp, tiff, …); "
                    "option labels=true labels by first-level sub-folder",
        options=lazy("gantk.datasets.lib.options:FolderOptions"),
    ))
