"""Turning one source image into store pixels: decode, orient, convert, crop, resize."""

from __future__ import annotations

import io
import warnings
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

# Refuse decompression bombs before allocating (PIL raises above 2x this many pixels;
# we make the warning level an error too).
MAX_PIXELS = 89_478_485


class BadImage(ValueError):
    """An input that cannot become a training image; the message is the skip reason."""


def open_image(data: bytes | Image.Image | np.ndarray) -> Image.Image:
    if isinstance(data, Image.Image):
        return data
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise BadImage(f"array of dtype {data.dtype}, expected uint8")
        return Image.fromarray(data.squeeze(-1) if data.ndim == 3 and data.shape[-1] == 1 else data)
    if not data:
        raise BadImage("empty file")
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(f"decompression bomb refused ({exc})") from None
    except Exception as exc:
        raise BadImage(f"not a decodable image ({type(exc).__name__}: {exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    return img


def to_mode(img: Image.Image, channels: int) -> Image.Image:
    """First frame, EXIF orientation applied, 16-bit/palette/CMYK/alpha flattened to L or RGB."""
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        peak = float(arr.max()) if arr.size else 0.0
        if img.mode == "F":
            arr = arr * (255.0 / max(peak, 1e-12))
        elif peak > 255:
            arr = arr / 257.0  # 16-bit -> 8-bit
        img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("L" if channels == 1 else "RGB")


def fit(img: Image.Image, resolution: int,
        transform: Literal["center-crop", "pad"] = "center-crop") -> Image.Image:
    """Center-crop the largest square (or pad to a square) and resize to `resolution`."""
    w, h = img.size
    if w == 0 or h == 0:
        raise BadImage("zero-sized image")
    if transform == "pad":
        side = max(w, h)
        if side != w or side != h:
            canvas = Image.new(img.mode, (side, side), 0)
            canvas.paste(img, ((side - w) // 2, (side - h) // 2))
            img = canvas
        if side < resolution:
            canvas = Image.new(img.mode, (resolution, resolution), 0)
            off = (resolution - side) // 2
            canvas.paste(img, (off, off))
            return canvas
    else:
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.Resampling.BICUBIC, reducing_gap=3.0)
    return img


def prepare(data: bytes | Image.Image | np.ndarray, resolution: int, channels: int,
            transform: Literal["center-crop", "pad"] = "center-crop") -> np.ndarray:
    """One input -> `(resolution, resolution, channels)` uint8, or BadImage with a reason."""
    try:
        img = fit(to_mode(open_image(data), channels), resolution, transform)
    except BadImage:
        raise
    except Exception as exc:
        raise BadImage(f"could not convert ({type(exc).__name__}: {exc})") from None
    arr = np.asarray(img, dtype=np.uint8)
    return arr.reshape(resolution, resolution, channels)
