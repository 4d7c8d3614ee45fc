"""Hashing a whole store: 128-bit codes for every image, streamed in batches.

The codes file is a `.npy` of packed uint8 `(N, 16)` (row i = image i, bit order of
`np.packbits`), written atomically; beside it `codes.variants.npy` `(N, V, 16)` holds the
codes of each image's V alignment probes (gantk.datasets.dedup.variants); a JSON sidecar
(`codes.json` beside `codes.npy`) records which store (fingerprint) and model produced it
so that de-duplication refuses codes of another store.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gantk.atomic import atomic_path, write_text_atomic
from gantk.datasets.dedup import settings as S
from gantk.datasets.dedup.crops import normalize
from gantk.datasets.dedup.sample import iter_crops
from gantk.datasets.dedup.variants import variant_params, warped_crops
from gantk.errors import GantkError
from gantk.ingest.parallel import ordered_map, usable_cpus
from gantk.store import ImageStore

CODE_BYTES = 16
PARALLEL_FROM = 4096  # images: fewer hash faster in this process than workers start


def sidecar(codes: Path) -> Path:
    return Path(codes).with_suffix(".json")


def variants_path(codes: Path) -> Path:
    return Path(codes).with_suffix(".variants.npy")


@dataclass(frozen=True)
class _HashJob:
    """What a hashing worker needs (picklable): it opens the store and model itself."""

    store: str
    model: str
    variants: int
    device: str


_WORKER_STATE: dict[str, Any] = {}


def _hash_rows(rows: tuple[int, int], job: _HashJob) -> tuple[np.ndarray, np.ndarray]:
    """Codes `(n, 16)` and probe codes `(n, V, 16)` of store images `rows[0]:rows[1]`.

    Every image's arithmetic is its own (per-image normalization and warps, one float64
    dot product per bit), so a code does not depend on the batch or the process."""
    from gantk.datasets.dedup.autoencoder import load_hash_model

    key = f"{job.store}|{job.model}|{job.device}"
    if _WORKER_STATE.get("key") != key:
        net, config = load_hash_model(job.model)
        _WORKER_STATE.update(key=key, net=net.to(job.device), config=config,
                             store=ImageStore(job.store))
    net, config, reader = (_WORKER_STATE[k] for k in ("net", "config", "store"))
    how, dev = config["normalization"], job.device
    (_, crops), = iter_crops(reader, np.arange(*rows), rows[1] - rows[0],
                             config.get("crop", 1.0))
    codes = net.bits(normalize(crops, how), dev)
    probes = np.empty((len(crops), job.variants, CODE_BYTES), np.uint8)
    if job.variants:
        warped = warped_crops(crops, job.variants).reshape(-1, *crops.shape[1:])
        probes[:] = net.bits(normalize(warped, how), dev).reshape(probes.shape)
    return codes, probes


def _hash_worker(rows: tuple[int, int], job: _HashJob) -> tuple[np.ndarray, np.ndarray]:
    """`_hash_rows` in a worker process, on one thread: the parallelism is the processes'."""
    if not _WORKER_STATE.get("one_thread"):
        import torch

        torch.set_num_threads(1)
        _WORKER_STATE["one_thread"] = True
    return _hash_rows(rows, job)


def hash_workers(count: int, device: str, workers: int | None) -> int:
    """Worker processes for hashing `count` images: the usable CPUs for a large store on
    the CPU, one (this process) for a small store or a GPU."""
    if workers is not None:
        if workers < 0:
            raise GantkError(f"workers must be 0 or more, got {workers}")
        return max(1, workers)
    if device != "cpu" or count < PARALLEL_FROM:
        return 1
    return usable_cpus()


def compute_codes(store: Path, model: Path, out: Path, *, batch_size: int = 512,
                  device: str = S.DEVICE.default, variants: int = S.VARIANTS.default,
                  workers: int | None = S.WORKERS.default,
                  progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Hash every image of `store` with the hash model at `model`; write codes to `out`
    (and, with `variants` > 0, the codes of that many alignment probes per image).

    On the CPU a large store is hashed by `workers` processes (default: the usable CPUs;
    one thread each), batch by batch; on a GPU in this process. The codes are the same
    whatever `batch_size` or `workers`."""
    import torch

    from gantk.datasets.dedup.autoencoder import hash_model_files
    from gantk.training.device import resolve_device

    hash_model_files(model)  # refuses a missing model before any work
    dev = resolve_device(device)
    reader = ImageStore(store)
    out = Path(out)
    variant_params(variants)  # refuses a bad count before any work
    workers = hash_workers(reader.count, dev.type, workers)
    job = _HashJob(str(Path(store).resolve()), str(Path(model).resolve()), variants, str(dev))
    batches = [(start, min(start + batch_size, reader.count))
               for start in range(0, reader.count, batch_size)]
    started = time.perf_counter()
    threads = torch.get_num_threads()
    with atomic_path(out) as tmp, atomic_path(variants_path(out)) as tmp_variants:
        codes = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                          shape=(reader.count, CODE_BYTES))
        probes = np.lib.format.open_memmap(tmp_variants, mode="w+", dtype=np.uint8,
                                           shape=(reader.count, variants, CODE_BYTES))
        torch.set_num_threads(1 if dev.type == "cpu" else threads)
        try:
            results = ordered_map(functools.partial(
                _hash_rows if workers == 1 else _hash_worker, job=job), batches, workers,
                preload=("gantk.datasets.dedup.codes", "torch"))
            for (start, stop), (got, got_probes) in zip(batches, results):
                codes[start:stop], probes[start:stop] = got, got_probes
                if progress:
                    progress(stop, reader.count)
        finally:
            torch.set_num_threads(threads)
            _WORKER_STATE.clear()
        codes.flush()
        probes.flush()
        del codes, probes
    seconds = time.perf_counter() - started
    write_text_atomic(sidecar(out), json.dumps({
        "store": str(Path(store).resolve()), "count": reader.count,
        "store_fingerprint": reader.meta.get("fingerprint"),
        "model": str(hash_model_files(model)[0].resolve()), "device": str(dev),
        "variants": variants, "workers": workers,
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
