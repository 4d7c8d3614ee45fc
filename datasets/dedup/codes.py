"""Hashing a whole store: 128-bit codes for every image, streamed in batches.

The codes file is a `.npy` of packed uint8 `(N, 16)` (row i = image i, bit order of
`np.packbits`), written atomically; beside it `codes.variants.npy` `(N, V, 16)` holds the
codes of each image's V alignment probes (gantk.datasets.dedup.variants); a JSON sidecar
(`codes.json` beside `codes.npy`) records which store (fingerprint) and model produced it
so that de-duplication refuses codes of another store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gantk.atomic import atomic_path, write_text_atomic
from gantk.datasets.dedup.crops import normalize
from gantk.datasets.dedup.sample import iter_crops
from gantk.datasets.dedup.variants import DEFAULT_VARIANTS, variant_params, warped_crops
from gantk.errors import GantkError
from gantk.store import ImageStore

CODE_BYTES = 16


def sidecar(codes: Path) -> Path:
    return Path(codes).with_suffix(".json")


def variants_path(codes: Path) -> Path:
    return Path(codes).with_suffix(".variants.npy")


def compute_codes(store: Path, model: Path, out: Path, *, batch_size: int = 512,
                  device: str = "auto", variants: int = DEFAULT_VARIANTS,
                  progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Hash every image of `store` with the hash model at `model`; write codes to `out`
    (and, with `variants` > 0, the codes of that many alignment probes per image)."""
    from gantk.datasets.dedup.autoencoder import hash_model_files, load_hash_model
    from gantk.training.device import resolve_device

    net, config = load_hash_model(model)
    dev = resolve_device(device)
    net.to(dev)
    reader = ImageStore(store)
    out = Path(out)
    variant_params(variants)  # refuses a bad count before any work
    how = config["normalization"]
    started = time.perf_counter()
    with atomic_path(out) as tmp, atomic_path(variants_path(out)) as tmp_variants:
        codes = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                          shape=(reader.count, CODE_BYTES))
        probes = np.lib.format.open_memmap(tmp_variants, mode="w+", dtype=np.uint8,
                                           shape=(reader.count, variants, CODE_BYTES))
        done = 0
        for chunk, crops in iter_crops(reader, np.arange(reader.count), batch_size,
                                       config.get("crop", 1.0)):
            rows = slice(chunk[0], chunk[-1] + 1)
            codes[rows] = net.bits(normalize(crops, how), dev)
            if variants:
                warped = warped_crops(crops, variants).reshape(-1, *crops.shape[1:])
                probes[rows] = net.bits(normalize(warped, how), dev).reshape(
                    len(chunk), variants, CODE_BYTES)
            done += len(chunk)
            if progress:
                progress(done, reader.count)
        codes.flush()
        probes.flush()
        del codes, probes
    seconds = time.perf_counter() - started
    write_text_atomic(sidecar(out), json.dumps({
        "store": str(Path(store).resolve()), "count": reader.count,
        "store_fingerprint": reader.meta.get("fingerprint"),
        "model": str(hash_model_files(model)[0].resolve()), "device": str(dev),
        "variants": variants,
        "seconds": round(seconds, 3),
        "hashes_per_second": round(reader.count / max(seconds, 1e-9), 1),
    }, indent=1))
    return out


def load_codes(codes: Path, store: ImageStore) -> tuple[np.ndarray, dict[str, Any]]:
    """The codes of `store` (memory-mapped), refused if they belong to another store."""
    codes = Path(codes)
    if not codes.is_file():
        raise GantkError(f"{codes}: no codes file; compute one with "
                         "gantk.datasets.dedup.compute_codes")
    arr = np.load(codes, mmap_mode="r")
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != CODE_BYTES:
        raise GantkError(f"{codes}: expected packed uint8 codes of shape (N, {CODE_BYTES}), "
                         f"got {arr.dtype} {arr.shape}")
    info = json.loads(sidecar(codes).read_text()) if sidecar(codes).is_file() else {}
    theirs = info.get("store_fingerprint")
    if len(arr) != store.count or (theirs and theirs != store.meta.get("fingerprint")):
        raise GantkError(f"{codes} holds codes of another store ({len(arr)} codes for "
                         f"{store.count} images in {store.path}); re-run compute_codes")
    return arr, info


def load_variant_codes(codes: Path, count: int) -> np.ndarray:
    """The alignment-probe codes `(N, V, 16)` written beside `codes` (V = 0 when codes
    were computed without probes, or by an older gantk)."""
    path = variants_path(codes)
    if not path.is_file():
        return np.zeros((count, 0, CODE_BYTES), np.uint8)
    arr = np.load(path, mmap_mode="r")
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[0] != count \
            or arr.shape[2] != CODE_BYTES:
        raise GantkError(f"{path}: expected packed uint8 probe codes of shape ({count}, V, "
                         f"{CODE_BYTES}), got {arr.dtype} {arr.shape}; re-run compute_codes")
    return arr
