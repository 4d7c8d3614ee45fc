"""Speed and scale of de-duplication: hashes per second and bucketing time for 1M codes.

    .venv/bin/python benchmarks/dedup_scale.py [--codes 1000000] [--images 10000] [--json P]

1. Bucketing: `--codes` synthetic 128-bit codes (bits drawn with uneven per-bit rates,
   like an autoencoder's) with planted duplicates (3% exact copies, 1% one bit off,
   1% two bits off). Times gantk's candidate_groups at radius 0, 1, 2, and at radius 1 with
   6 alignment-probe codes per image (the default; random codes here), and, as the
   reference in the same run, a plain Python dict keyed by the code bytes (a linear-time
   hash table); checks every planted duplicate is found.
2. Hashing: a synthetic 64x64 RGB store of `--images` images; times compute_codes (LMDB
   read + crop + encode + write) without probes and with the default 6, and, as the
   reference, reading the same images alone.
Repeats are interleaved; the median is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from gantk.datasets.dedup import compute_codes
from gantk.datasets.dedup.autoencoder import HashAutoencoder, save_hash_model
from gantk.datasets.dedup.buckets import candidate_groups
from gantk.store import ImageStore, ImageStoreWriter


def synthetic_codes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codes and, per planted duplicate, (copy, original) index pairs."""
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.2, 0.8, size=128)
    bits = rng.random((n, 128), dtype=np.float32) < rates.astype(np.float32)
    originals = rng.choice(n // 2, size=n // 20, replace=False)
    copies = n // 2 + rng.choice(n // 2, size=len(originals), replace=False)
    bits[copies] = bits[originals]
    one, two = copies[len(copies) * 3 // 5:len(copies) * 4 // 5], copies[len(copies) * 4 // 5:]
    first = rng.integers(0, 128, size=len(one) + len(two))
    bits[np.concatenate([one, two]), first] ^= True
    second = (first[len(one):] + rng.integers(1, 128, size=len(two))) % 128  # another bit
    bits[two, second] ^= True
    return np.packbits(bits, axis=1), np.stack([copies, originals], axis=1)


def dict_buckets(codes: np.ndarray) -> int:
    buckets: dict[bytes, list[int]] = {}
    for i, row in enumerate(codes):
        buckets.setdefault(row.tobytes(), []).append(i)
    return sum(1 for b in buckets.values() if len(b) > 1)


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def bucketing(n: int, repeats: int) -> dict:
    codes, planted = synthetic_codes(n)
    probes = np.random.default_rng(2).integers(0, 256, size=(n, 6, 16), dtype=np.uint8)
    times: dict[str, list[float]] = {"dict radius=0 (reference)": [], "radius=0": [],
                                     "radius=1": [], "radius=2": [], "radius=1 + 6 probes": []}
    found = {}
    candidate_groups(codes[:1000], 1)  # warm-up: imports
    for _ in range(repeats):
        times["dict radius=0 (reference)"].append(timed(dict_buckets, codes)[0])
        for radius in (0, 1, 2):
            seconds, groups = timed(candidate_groups, codes, radius)
            times[f"radius={radius}"].append(seconds)
            label = np.arange(n) + n  # singletons: a label of their own
            for g_id, g in enumerate(groups):
                label[g] = g_id
            same = label[planted[:, 0]] == label[planted[:, 1]]
            found[f"radius={radius}"] = round(float(same.mean()), 4)
        times["radius=1 + 6 probes"].append(timed(candidate_groups, codes, 1, probes)[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = med["dict radius=0 (reference)"]
    return {"codes": n, "seconds": {k: round(v, 3) for k, v in med.items()},
            "vs_dict": {k: round(v / ref, 3) for k, v in med.items()},
            "planted_found": found}


def hashing(images: int, repeats: int, work: Path) -> dict:
    rng = np.random.default_rng(1)
    with ImageStoreWriter(work / "store", 64, 3, source="synthetic") as writer:
        base = rng.integers(0, 256, size=(256, 8, 8, 3), dtype=np.uint8)
        for i in range(images):  # smooth-ish images: an 8x8 pattern upsampled, plus noise
            img = base[i % 256].repeat(8, 0).repeat(8, 1)
            writer.add(np.clip(img + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8))
    model = save_hash_model(HashAutoencoder(), work / "model",
                            {"inputs": 3072, "code_bits": 128, "normalization": "image",
                             "noise": 0.2, "dropout": 0.2, "crop": 1.0})
    store = ImageStore(work / "store")

    def read_all():
        for start in range(0, store.count, 512):
            store.get_many(np.arange(start, min(start + 512, store.count)))

    reads, hashes, probed = [], [], []
    for _ in range(repeats):
        reads.append(timed(read_all)[0])
        hashes.append(timed(compute_codes, work / "store", model, work / "codes.npy",
                            batch_size=512, device="cpu", variants=0)[0])
        probed.append(timed(compute_codes, work / "store", model, work / "codes.npy",
                            batch_size=512, device="cpu")[0])
    read_s, hash_s = statistics.median(reads), statistics.median(hashes)
    probe_s = statistics.median(probed)
    return {"images": images, "hashes_per_second": round(images / hash_s, 1),
            "images_per_second_with_6_probes": round(images / probe_s, 1),
            "read_only_images_per_second (reference)": round(images / read_s, 1),
            "hash_vs_read_time": round(hash_s / read_s, 2),
            "probes_vs_plain_time": round(probe_s / hash_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    doc = {"bucketing": bucketing(args.codes, args.repeats)}
    print(json.dumps(doc["bucketing"], indent=1), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        doc["hashing"] = hashing(args.images, args.repeats, Path(tmp))
    print(json.dumps(doc["hashing"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
