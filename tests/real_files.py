"""Helpers that write real image files (real photos from scikit-image, real encoders)
and the bad inputs users' folders really contain."""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image


@lru_cache(maxsize=1)
def _astronaut() -> Image.Image:
    from skimage.data import astronaut

    return Image.fromarray(astronaut())


def photo(size: tuple[int, int] = (96, 72), seed: int = 0) -> Image.Image:
    """A different real-photo crop per seed, resized to `size`."""
    rng = np.random.default_rng(seed)
    side = int(rng.integers(160, 400))
    x, y = (int(v) for v in rng.integers(0, 512 - side, size=2))
    return _astronaut().crop((x, y, x + side, y + side)).resize(size, Image.Resampling.BILINEAR)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 40_000) -> bytes:
    """A tiny PNG whose header claims side x side RGB pixels (4.8 GB decoded)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + _chunk(b"IEND", b""))


def bad_inputs(seed: int = 0) -> dict[str, bytes]:
    """name -> bytes of inputs that must be skipped (the name says why)."""
    jpeg = encode(photo(seed=seed), "JPEG")
    bmp = encode(photo(seed=seed), "BMP")
    rng = np.random.default_rng(seed)
    return {
        "empty.jpg": b"",
        "page.jpg": b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "noise.bmp": bmp[:54] + rng.integers(0, 256, len(bmp) - 54, np.uint8).tobytes(),
        "bomb.png": png_bomb(),
    }


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
