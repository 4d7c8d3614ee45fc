"""A near-duplicate benchmark from real photographs, with known groups.

Photos shipped with scikit-image and scikit-learn are cut into non-overlapping tiles
(distinct images). Tiles that are not distinct in any visual sense are dropped: flat
ones (luminance std < 12) and those whose 32x32 luminance, normalized for brightness and
contrast, correlates above 0.9 with an earlier tile (two patches of a sky's gradient are
what a brightness change of one would look like). Some tiles get near-copies made from the same
source region: an exact copy, a low-quality JPEG re-encode, a small shift, a rescale
(zoom), a brightness change, a slight blur. The store's order is shuffled (seeded), so
a near-copy may come before its original.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from gantk.store import ImageStoreWriter

KINDS = ("exact", "jpeg", "shift", "rescale", "brightness", "blur")
SKIMAGE_PHOTOS = ("astronaut", "brick", "camera", "cat", "cell", "coffee", "coins", "grass",
                  "gravel", "hubble_deep_field", "immunohistochemistry", "moon", "page",
                  "retina", "rocket", "text")
GAP = 8  # source pixels between tiles: room for shifts without touching a neighbour


@dataclass
class Item:
    pixels: np.ndarray
    group: int  # the distinct source tile it comes from
    kind: str  # "original" or one of KINDS


def photos() -> dict[str, np.ndarray]:
    """The real photographs, as RGB uint8 arrays (nothing is downloaded)."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    out = {}
    for name in SKIMAGE_PHOTOS:
        img = getattr(skimage.data, name)()
        out[name] = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
    out["motorcycle"] = skimage.data.stereo_motorcycle()[0]
    sample = load_sample_images()
    for name, img in zip(sample.filenames, sample.images):
        out[Path(name).stem] = img
    return out


def _tiles(photo: np.ndarray, side: int) -> list[tuple[int, int, int]]:
    h, w = photo.shape[:2]
    step = side + GAP
    return [(y, x, side) for y in range(GAP, h - side - GAP + 1, step)
            for x in range(GAP, w - side - GAP + 1, step)]


def _cut(photo: np.ndarray, y: float, x: float, side: float, res: int) -> np.ndarray:
    img = Image.fromarray(photo).crop((round(x), round(y), round(x + side), round(y + side)))
    return np.asarray(img.resize((res, res), Image.Resampling.BICUBIC))


def near_copy(kind: str, photo: np.ndarray, tile: tuple[int, int, int], res: int,
              rng: np.random.Generator) -> np.ndarray:
    y, x, side = tile
    if kind == "shift":  # 2-5 % of the side, in a random direction
        d = side * rng.uniform(0.02, 0.05)
        angle = rng.uniform(0, 2 * np.pi)
        return _cut(photo, y + d * np.sin(angle), x + d * np.cos(angle), side, res)
    if kind == "rescale":  # zoom in or out by 4-8 % about the centre
        grow = side * rng.choice([-1, 1]) * rng.uniform(0.04, 0.08)
        return _cut(photo, y - grow / 2, x - grow / 2, side + grow, res)
    base = Image.fromarray(_cut(photo, y, x, side, res))
    if kind == "exact":
        return np.asarray(base)
    if kind == "jpeg":
        buf = io.BytesIO()
        base.save(buf, format="JPEG", quality=int(rng.integers(15, 31)))
        return np.asarray(Image.open(buf).convert("RGB"))
    if kind == "brightness":
        factor = rng.choice([-1, 1]) * rng.uniform(0.12, 0.25) + 1
        return np.asarray(ImageEnhance.Brightness(base).enhance(factor))
    if kind == "blur":
        return np.asarray(base.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.0))))
    raise ValueError(kind)


def _distinct(luma: np.ndarray, seen: list[np.ndarray], max_corr: float) -> bool:
    """True (and remembered) if no earlier tile's normalized 32x32 luminance is this close."""
    k = luma.shape[0] // 32
    small = luma.reshape(32, k, 32, k).mean(axis=(1, 3)).ravel()
    small = (small - small.mean()) / max(small.std(), 1e-6)
    if seen and float(np.max(np.stack(seen) @ small)) / small.size > max_corr:
        return False
    seen.append(small)
    return True


def build_items(res: int = 64, seed: int = 0, dup_fraction: float = 0.4,
                min_std: float = 12.0, max_corr: float = 0.9) -> list[Item]:
    """Distinct tiles (64 and 128 source pixels) plus near-copies of a fraction of them."""
    rng = np.random.default_rng(seed)
    items: list[Item] = []
    seen: list[np.ndarray] = []
    group = 0
    for photo in photos().values():
        for side in (64, 128):
            for tile in _tiles(photo, side):
                pixels = _cut(photo, *tile, res)
                luma = pixels.astype(np.float64) @ [0.299, 0.587, 0.114]
                if luma.std() < min_std or not _distinct(luma, seen, max_corr):
                    continue
                items.append(Item(pixels, group, "original"))
                if rng.random() < dup_fraction:
                    for kind in map(str, rng.choice(KINDS, size=int(rng.integers(1, 4)),
                                                    replace=False)):
                        items.append(Item(near_copy(kind, photo, tile, res, rng), group, kind))
                group += 1
    return items


def write_benchmark_store(path: Path, res: int = 64, seed: int = 0) -> list[Item]:
    """Write the shuffled benchmark store; returns its items in store order."""
    items = build_items(res, seed)
    order = np.random.default_rng(seed + 1).permutation(len(items))
    items = [items[i] for i in order]
    with ImageStoreWriter(path, res, 3, source="dedup-benchmark", overwrite=True) as writer:
        for i, item in enumerate(items):
            writer.add(item.pixels, source_key=f"g{item.group:05d}/{item.kind}/{i}")
    return items
