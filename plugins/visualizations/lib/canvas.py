"""Composing figures from image grids with PIL: titled panels side by side or stacked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gantk.atomic import atomic_path

if TYPE_CHECKING:
    from PIL import Image

TITLE_HEIGHT = 14
GAP = 6


def panel(grid: np.ndarray, title: str = "") -> Image.Image:
    """A `(H, W, 3)` uint8 grid with a one-line title above it on white."""
    from PIL import Image, ImageDraw

    body = Image.fromarray(grid)
    if not title:
        return body
    width = max(body.width, 6 * len(title) + 4)
    out = Image.new("RGB", (width, body.height + TITLE_HEIGHT), "white")
    ImageDraw.Draw(out).text((2, 1), title, fill=(0, 0, 0))
    out.paste(body, (0, TITLE_HEIGHT))
    return out


def row(parts: list[Image.Image], gap: int = GAP) -> Image.Image:
    """Images left to right, top-aligned, on white."""
    from PIL import Image

    out = Image.new("RGB", (sum(p.width for p in parts) + gap * (len(parts) - 1),
                            max(p.height for p in parts)), "white")
    x = 0
    for part in parts:
        out.paste(part, (x, 0))
        x += part.width + gap
    return out


def column(parts: list[Image.Image], gap: int = GAP) -> Image.Image:
    """Images top to bottom, left-aligned, on white."""
    from PIL import Image

    out = Image.new("RGB", (max(p.width for p in parts),
                            sum(p.height for p in parts) + gap * (len(parts) - 1)), "white")
    y = 0
    for part in parts:
        out.paste(part, (0, y))
        y += part.height + gap
    return out


def save_png(image: Image.Image, path: Path) -> Path:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return path
