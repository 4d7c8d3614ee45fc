"""Finding faces as the paper built its faces set: OpenCV's Haar frontal-face detector,
keeping detections above a minimum size, each cropped square with a margin around it.

Runs inside ingest's worker processes (one detector per process, single-threaded so
the workers do not oversubscribe the cores). opencv-python-headless 4.x ships the
cascade files under `cv2.data.haarcascades`; 5.x does not (hence the `<5` pin).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from gantk.errors import GantkError

if TYPE_CHECKING:
    from PIL import Image

CASCADE = "haarcascade_frontalface_default.xml"
# Defaults; each is a source option (-o min_size=96 …). min_neighbors 5 finds 95 of
# lfw_subset's 100 faces and nothing in its 100 non-faces (3: 97 and 0; 8: 93 and 0).
DEFAULTS = {"min_size": 64, "margin": 0.25, "min_neighbors": 5, "scale_factor": 1.1,
            "detect_side": 1024}


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    try:
        import cv2
    except ImportError:
        raise GantkError("face detection needs OpenCV: pip install "
                         "'opencv-python-headless>=4.8,<5'") from None
    cv2.setNumThreads(1)
    path = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if path is None or not hasattr(cv2, "CascadeClassifier"):
        raise GantkError("this OpenCV has no Haar cascades (5.x dropped them); install "
                         "'opencv-python-headless>=4.8,<5'")
    detector = cv2.CascadeClassifier(path + CASCADE)
    if detector.empty():
        raise GantkError(f"OpenCV could not load {path + CASCADE}")
    return detector


def face_settings(options: dict[str, Any]) -> dict[str, float]:
    settings = {k: options.get(k, v) for k, v in DEFAULTS.items()}
    for key, value in settings.items():
        if not isinstance(value, (int, float)) or value < 0:
            raise GantkError(f"option {key}={value!r}: expected a non-negative number")
    if settings["scale_factor"] <= 1:
        raise GantkError("option scale_factor must be above 1 (e.g. 1.1)")
    return settings


def face_boxes(img: Image.Image, options: dict[str, Any]) -> list[tuple[int, int, int, int]]:
    """Face boxes `(x, y, w, h)` in `img`'s pixels, at least `min_size` wide, in reading
    order. Large photos are searched at `detect_side` pixels for speed."""
    import cv2
    import numpy as np

    s = face_settings(options)
    gray = np.asarray(img.convert("L"))
    scale = min(1.0, s["detect_side"] / max(gray.shape)) if s["detect_side"] else 1.0
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    smallest = max(24, int(s["min_size"] * scale))
    found = _detector().detectMultiScale(gray, scaleFactor=s["scale_factor"],
                                         minNeighbors=int(s["min_neighbors"]),
                                         minSize=(smallest, smallest))
    boxes = [tuple(round(v / scale) for v in box) for box in np.asarray(found).reshape(-1, 4)]
    boxes = [b for b in boxes if min(b[2], b[3]) >= s["min_size"]]
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def crop_box(box: tuple[int, int, int, int], size: tuple[int, int],
             margin: float) -> tuple[int, int, int, int]:
    """A square around `box` grown by `margin` of its side on each side, moved (and if
    need be shrunk) to fit inside an image of `size`."""
    x, y, w, h = box
    width, height = size
    side = min(round(max(w, h) * (1 + 2 * margin)), width, height)
    left = min(max(0, round(x + w / 2 - side / 2)), width - side)
    top = min(max(0, round(y + h / 2 - side / 2)), height - side)
    return left, top, left + side, top + side


def detect_faces(img: Image.Image, options: dict[str, Any]) -> list[tuple[str, Image.Image]]:
    """The `crops` of the faces source: `[("face0", crop), ...]`."""
    margin = face_settings(options)["margin"]
    return [(f"face{i}", img.crop(crop_box(box, img.size, margin)))
            for i, box in enumerate(face_boxes(img, options))]
