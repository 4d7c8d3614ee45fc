"""`faces`: a folder of photos in which faces are detected and cropped (as the paper
built its 350K-face set), or the CelebA layout, whose aligned images are used as they
are (no detection).

Photo folder options: `min_size` (pixels, default 64: keep detections at least that
wide), `margin` (fraction of the face added on each side, default 0.25),
`min_neighbors`, `scale_factor`, `detect_side`. Each face is stored under the source key
`<photo path>#face<i>`. CelebA options: see gantk.datasets.lib.celeba.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import DatasetSpec, Record, Skipped
from gantk.datasets.lib.celeba import celeba_classes, celeba_length, image_folder, open_celeba
from gantk.datasets.lib.face_detect import detect_faces, face_settings
from gantk.datasets.lib.files import image_files, source_key


def open_faces(path: Path, options: dict[str, Any]) -> Iterator[Record | Skipped]:
    if image_folder(path) is not None:
        yield from open_celeba(path, options)
        return
    face_settings(options)  # a bad option fails here, before any store is written
    for rel in image_files(path):
        yield Record(source_key(rel), path / rel)


def faces_length(path: Path, options: dict[str, Any]) -> int:
    if image_folder(path) is not None:
        return celeba_length(path, options)
    return len(image_files(path))


def faces_classes(path: Path, options: dict[str, Any]) -> list[str] | None:
    return celeba_classes(path, options) if image_folder(path) is not None else None


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="faces", open=open_faces, length=faces_length, classes=faces_classes,
        crops=detect_faces, default_resolution=64,
        description="photos -> OpenCV Haar face crops (options min_size, margin), or the "
                    "CelebA layout (img_align_celeba/ + list files; options split, label)",
        options=lazy("gantk.datasets.lib.options:FacesOptions"),
    ))
