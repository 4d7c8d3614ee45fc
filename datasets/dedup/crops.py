"""The hash model's input: 32x32 RGB center crops of store images, contrast-normalized.

Every store, whatever its resolution or channel count, maps to the same 3072-d input of
the paper's autoencoder: the (square) store image is center-cropped by `crop` (1.0 keeps
it whole), box-downsampled to 32x32 (upsampled bicubically if smaller), and grayscale is
replicated to three channels, so one hash model shape fits every store. Crops are kept as
uint8 (a 50,000-image training sample is 150 MB) and normalized per batch.
"""

from __future__ import annotations

import numpy as np

SIZE = 32
CHANNELS = 3
INPUTS = SIZE * SIZE * CHANNELS  # 3072, the paper's input width
NORMALIZATIONS = ("image", "none")
_STD_FLOOR = 4.0  # in uint8 levels: flat images are not blown up into noise


def center_crops(images: np.ndarray, crop: float = 1.0) -> np.ndarray:
    """`(N, H, W, C)` uint8 store images -> `(N, 32, 32, 3)` uint8 center crops."""
    n, h, w, c = images.shape
    side = max(1, int(round(min(h, w) * crop)))
    top, left = (h - side) // 2, (w - side) // 2
    images = images[:, top:top + side, left:left + side]
    out = _box_mean(images, side // SIZE) if side % SIZE == 0 else _resize_each(images)
    if c == 1:
        out = np.repeat(out, CHANNELS, axis=3)
    return out


def _box_mean(images: np.ndarray, k: int) -> np.ndarray:
    """Exact integer k x k box averages, rounded (one axis at a time: fast in numpy)."""
    n, _, _, c = images.shape
    wide = np.uint16 if k <= 16 else np.uint32
    rows = images.reshape(n, SIZE, k, SIZE * k * c).astype(wide).sum(axis=2, dtype=wide)
    sums = rows.reshape(n, SIZE, SIZE, k, c).sum(axis=3, dtype=np.uint32)
    return ((sums + k * k // 2) // (k * k)).astype(np.uint8)


def _resize_each(images: np.ndarray) -> np.ndarray:
    from PIL import Image

    side = images.shape[1]
    method = Image.Resampling.BOX if side > SIZE else Image.Resampling.BICUBIC
    out = np.empty((len(images), SIZE, SIZE, images.shape[3]), np.uint8)
    for i, img in enumerate(images):
        pil = Image.fromarray(img.squeeze(-1) if img.shape[-1] == 1 else img)
        out[i] = np.asarray(pil.resize((SIZE, SIZE), method)).reshape(SIZE, SIZE, -1)
    return out


def normalize(crops: np.ndarray, how: str = "image") -> np.ndarray:
    """uint8 crops -> `(N, 3072)` float64 inputs.

    "image": zero mean, unit variance per image (brightness and contrast changes leave the
    code alone); "none": pixels scaled to [-1, 1]. float64 keeps the arithmetic exact
    enough that identical images get identical codes in any batch.
    """
    x = crops.reshape(len(crops), -1).astype(np.float64)
    if how == "none":
        return x / 127.5 - 1.0
    if how != "image":
        raise ValueError(f"unknown normalization {how!r}; use one of {NORMALIZATIONS}")
    x -= x.mean(axis=1, keepdims=True)
    x /= np.maximum(x.std(axis=1, keepdims=True), _STD_FLOOR)
    return x
