"""Turning one source image into store pixels: decode, orient, convert, crop, resize.

Everything that can go wrong with a user's file becomes `BadImage` with a one-line reason
(the ingest report lists it); nothing here allocates an image larger than `MAX_PIXELS`.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

from gantk.errors import GantkError

# Refuse decompression bombs before allocating: PIL checks the header's size in
# `Image.open`; its warning level is turned into an error here (PIL's own default).
MAX_PIXELS = 89_478_485
# Resize as PIL's `reducing_gap` does: shrink by an integer factor first (JPEG: in the
# DCT, via `draft`), keeping at least this many times the target size for the filter.
REDUCING_GAP = 3.0
# Neighbouring pixels of a photo correlate (> 0.7 even for grass or gravel at full size);
# random bytes behind a valid header of an uncompressed format do not (about 0).
NOISE_CORRELATION = 0.1
# Entropy-coded formats fail to decode when their data is random; the rest are checked.
_SELF_CHECKING = {"JPEG", "MPO", "PNG", "GIF", "WEBP"}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
# Pillow frees every image's pixel memory at once unless told to keep some blocks for
# reuse. In a fresh worker process (ingest's start from a fork server) that costs ~35% more
# CPU per decoded image than in a long-lived one (measured: benchmarks/ingest.py --parts,
# docs/ingest.md), the time going to mapping and zeroing fresh pages. Keeping a few
# blocks (at most one image each here: a few MB) closes it. PILLOW_BLOCKS_MAX, if
# higher, wins.
PIXEL_BLOCKS_KEPT = 16
Image.core.set_blocks_max(max(Image.core.get_blocks_max(), PIXEL_BLOCKS_KEPT))

Transform = Literal["center-crop", "pad"]
Source = bytes | Path | Image.Image | np.ndarray
Crops = Callable[[Image.Image, dict], list[tuple[str, Image.Image]]]


class BadImage(ValueError):
    """An input that cannot become a training image; the message is the skip reason."""


def _describe_unreadable(head: bytes) -> str:
    text = head.lstrip()[:64].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml", b"<svg")):
        return "HTML/XML text, not an image (a web page saved under an image name?)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "not an image file (unrecognized format)"
    return "text, not an image"


def _from_array(data: np.ndarray) -> Image.Image:
    arr = data.squeeze(-1) if data.ndim == 3 and data.shape[-1] == 1 else data
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise BadImage(f"array of shape {data.shape}; expected HxW, HxWx1, HxWx3 or HxWx4")
    if arr.dtype == np.uint16:
        arr = (arr.astype(np.uint32) * 255 + 32767) // 65535
    elif arr.dtype == np.bool_:
        arr = arr * 255
    elif arr.dtype.kind == "f":
        arr = np.clip(arr * 255.0 + 0.5, 0, 255)  # floats are taken to be in [0, 1]
    elif arr.dtype != np.uint8:
        raise BadImage(f"array of dtype {data.dtype}; expected uint8, uint16, bool or float")
    return Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8))


def _open_checked(fh: io.BufferedIOBase | io.BytesIO,
                  draft: Callable[[Image.Image], None] | None) -> Image.Image:
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fh)
            if draft is not None:
                draft(img)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(f"decompression bomb refused ({exc})") from None
    except Image.UnidentifiedImageError:
        fh.seek(0)
        raise BadImage(_describe_unreadable(fh.read(512))) from None
    except (MemoryError, Exception) as exc:
        raise BadImage(f"not a decodable image ({type(exc).__name__}: {exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    if img.width == 0 or img.height == 0:
        raise BadImage("zero-sized image")
    if img.format not in _SELF_CHECKING and _looks_like_noise(img):
        raise BadImage("pixels look like random bytes (corrupt data behind a valid header)")
    return img


def _looks_like_noise(img: Image.Image) -> bool:
    """Neighbouring pixels of a central strip uncorrelated: the body is random bytes."""
    if img.width < 8 or img.height < 2:
        return False
    top = max(0, img.height // 2 - 32)
    strip = img.crop((0, top, min(img.width, 1024), min(img.height, top + 64)))
    arr = np.asarray(strip.convert("L"), dtype=np.float32)
    a, b = arr[:, :-1].ravel(), arr[:, 1:].ravel()
    if a.std() < 1e-3 or b.std() < 1e-3:
        return False
    return float(np.corrcoef(a, b)[0, 1]) < NOISE_CORRELATION


def open_image(data: Source, draft: Callable[[Image.Image], None] | None = None) -> Image.Image:
    """Decode bytes, a file path, an array or a PIL image; `BadImage` says why not.

    `draft(img)` (optional) runs between reading the header and decoding the pixels.
    """
    if isinstance(data, Image.Image):
        return data
    if isinstance(data, np.ndarray):
        return _from_array(data)
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        try:
            if path.stat().st_size == 0:
                raise BadImage("empty file")
            with open(path, "rb") as fh:
                return _open_checked(fh, draft)
        except OSError as exc:
            raise BadImage(f"cannot read the file ({exc.strerror or exc})") from None
    if not data:
        raise BadImage("empty file")
    return _open_checked(io.BytesIO(data), draft)


def _orient(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:
        return img


def _to_8bit(img: Image.Image) -> Image.Image:
    """16/32-bit integer grayscale is scaled from its full 16-bit range; float from [0, 1]."""
    arr = np.asarray(img)
    if img.mode == "F":
        out = np.clip(arr.astype(np.float64) * 255.0 + 0.5, 0, 255)
    else:
        out = np.clip((arr.astype(np.int64) * 255 + 32767) // 65535, 0, 255)
    return Image.fromarray(out.astype(np.uint8), "L")


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    """Through the embedded ICC profile when there is one (print CMYK is not 255 - x)."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"),
                                             outputMode="RGB")
        except Exception:
            pass  # a broken profile: fall back to PIL's plain conversion
    return img.convert("RGB")


def to_mode(img: Image.Image, channels: int) -> Image.Image:
    """EXIF orientation applied; 16-bit, palette, CMYK and alpha flattened to L or RGB.

    Animated images are already at their first frame once opened. Transparent pixels are
    composited over white (what a viewer shows), not left as whatever colour they hold.
    """
    img = _orient(img)
    if img.mode in _SIXTEEN_BIT or img.mode == "F":
        img = _to_8bit(img)
    elif img.mode == "CMYK":
        img = _cmyk_to_rgb(img)
    elif img.mode in ("La", "RGBa"):
        img = img.convert(img.mode.upper())
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("L" if channels == 1 else "RGB")


def draft_for(resolution: int, transform: Transform) -> Callable[[Image.Image], None]:
    """A `draft` hook: JPEGs decode at 1/2, 1/4 or 1/8 size when that keeps the gap."""

    def draft(img: Image.Image) -> None:
        if img.format not in ("JPEG", "MPO"):
            return
        w, h = img.size
        side = min(w, h) if transform == "center-crop" else max(w, h)
        scale = REDUCING_GAP * resolution / side
        if scale <= 0.5:
            img.draft(None, (math.ceil(w * scale), math.ceil(h * scale)))

    return draft


def fit(img: Image.Image, resolution: int, transform: Transform = "center-crop") -> Image.Image:
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
        img = img.resize((resolution, resolution), Image.Resampling.BICUBIC,
                         reducing_gap=REDUCING_GAP)
    return img


def _pixels(img: Image.Image, resolution: int, channels: int) -> np.ndarray:
    return np.asarray(img, dtype=np.uint8).reshape(resolution, resolution, channels)


def prepare(data: Source, resolution: int, channels: int,
            transform: Transform = "center-crop") -> np.ndarray:
    """One input -> `(resolution, resolution, channels)` uint8, or BadImage with a reason."""
    return prepare_crops(data, resolution, channels, transform)[0][1]


def prepare_crops(data: Source, resolution: int, channels: int,
                  transform: Transform = "center-crop", crops: Crops | None = None,
                  options: dict | None = None) -> list[tuple[str | None, np.ndarray]]:
    """One input -> `[(suffix, pixels)]`: one image, or one per region `crops` finds.

    `crops(rgb_image, options)` returns `[(suffix, region)]` (e.g. detected faces); it
    sees the full-resolution, upright RGB image.
    """
    try:
        if crops is None:
            img = to_mode(open_image(data, draft_for(resolution, transform)), channels)
            return [(None, _pixels(fit(img, resolution, transform), resolution, channels))]
        rgb = to_mode(open_image(data), 3)
        return [(suffix, _pixels(fit(to_mode(region, channels), resolution, transform),
                                 resolution, channels))
                for suffix, region in crops(rgb, options or {})]
    except (BadImage, GantkError):  # GantkError: a setup problem, not this input's fault
        raise
    except Exception as exc:
        raise BadImage(f"could not convert ({type(exc).__name__}: {exc})") from None
