"""Finding the images in a user's folder: hidden and non-image files are ignored, the
order is sorted (deterministic on every filesystem), any file name works as a key."""

from __future__ import annotations

import os
from pathlib import Path

from gantk.errors import GantkError

IMAGE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".bmp", ".dib", ".webp",
    ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".tga",
})
# Operating-system litter that is never data (besides names starting with a dot).
_LITTER = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini", "@eaDir", "$RECYCLE.BIN"})


def is_hidden(name: str) -> bool:
    return name.startswith(".") or name in _LITTER


def is_image_name(name: str) -> bool:
    """An image by its name: not hidden, with a known image suffix (any letter case)."""
    return not is_hidden(name) and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def source_key(relative: str) -> str:
    """A relative path as a key that is valid UTF-8 even for undecodable file names, and
    unique: a name that is not plain UTF-8 without backslashes has its backslashes doubled
    before undecodable bytes become `\\xNN`, so `a\\xff.png` (a literal backslash) and the
    byte 0xFF never share a key. Plain names (nearly all) are their own key."""
    raw = relative.encode("utf-8", "surrogateescape")
    if b"\\" not in raw:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def image_files(root: Path) -> list[str]:
    """Relative POSIX paths of the image files below `root`, sorted by path components.

    Hidden folders are not entered, nor LMDB folders (an ImageStore written inside SRC),
    and symlinked folders are not followed (no loops).
    """
    if not root.is_dir():
        raise GantkError(f"{root} is not a folder; pass the folder that holds the images")
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        if "data.mdb" in files:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not is_hidden(d)]
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + f for f in files if is_image_name(f))
    found.sort(key=lambda p: p.split("/"))
    return found
