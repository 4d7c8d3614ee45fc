"""Precision and recall of de-duplication on near-copies of real photographs.

    .venv/bin/python benchmarks/dedup_quality.py [--out DIR] [--json PATH]

Builds the benchmark store (dedup_nearcopies.py: distinct tiles of scikit-image and
scikit-learn photos plus exact copies, low-quality JPEG re-encodes, small shifts,
rescales, brightness changes and slight blurs of some of them), trains the paper's hash
model on it with gantk.datasets.dedup, and scores the removed set of:
  - the autoencoder hash, at Hamming radius 0/1/2, with 0-10 alignment probes per image
    (`--variants`), with and without pixel verification;
  - exact byte hashing (blake2b of the stored pixels);
  - perceptual hashes (dHash and pHash, 64 bits, pairs within a Hamming threshold).
A removed image is correct when the image kept in its place comes from the same source
tile. precision = correct / removed; recall = correct / (images - distinct tiles).
Per kind: the share of near-copies that end up in one group with their original.
Goals (issue 4): precision >= 0.99, recall >= 0.90.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_nearcopies import KINDS, write_benchmark_store  # noqa: E402

from gantk.datasets.dedup import compute_codes, deduplicate, find_groups  # noqa: E402
from gantk.datasets.dedup.buckets import groups_of  # noqa: E402
from gantk.datasets.dedup.train import train_hash_model  # noqa: E402
from gantk.datasets.dedup.variants import MAX_VARIANTS  # noqa: E402
from gantk.store import ImageStore  # noqa: E402


def score(groups: list[np.ndarray], truth: np.ndarray, kinds: np.ndarray) -> dict:
    n = len(truth)
    kept_of = np.arange(n)
    for g in groups:
        kept_of[g] = g[0]
    removed = kept_of != np.arange(n)
    correct = removed & (truth[kept_of] == truth)
    duplicates = n - len(np.unique(truth))
    original_of = {t: i for i, (t, k) in enumerate(zip(truth, kinds)) if k == "original"}
    per_kind = {}
    for kind in KINDS:
        idx = np.flatnonzero(kinds == kind)
        orig = np.array([original_of[t] for t in truth[idx]])
        per_kind[kind] = round(float(np.mean(kept_of[idx] == kept_of[orig])), 4)
    return {"removed": int(removed.sum()), "correct": int(correct.sum()),
            "false_removals": int(removed.sum() - correct.sum()),
            "precision": round(float(correct.sum() / max(removed.sum(), 1)), 4),
            "recall": round(float(correct.sum() / max(duplicates, 1)), 4),
            "recall_by_kind": per_kind}


def byte_groups(store: ImageStore) -> list[np.ndarray]:
    images, _ = store.get_many(np.arange(store.count))
    digests = [hashlib.blake2b(img.tobytes(), digest_size=16).hexdigest() for img in images]
    _, labels = np.unique(digests, return_inverse=True)
    return groups_of(labels)


def dhash(gray: np.ndarray) -> np.ndarray:
    """64-bit difference hash: is each pixel of a 9x8 thumbnail darker than its right one."""
    from PIL import Image

    out = np.empty((len(gray), 64), bool)
    for i, g in enumerate(gray):
        small = np.asarray(Image.fromarray(g).resize((9, 8), Image.Resampling.BOX), float)
        out[i] = (small[:, 1:] > small[:, :-1]).ravel()
    return np.packbits(out, axis=1)


def phash(gray: np.ndarray) -> np.ndarray:
    """64-bit DCT hash: low 8x8 DCT coefficients of a 32x32 thumbnail above their median."""
    from PIL import Image
    from scipy.fft import dctn

    out = np.empty((len(gray), 64), bool)
    for i, g in enumerate(gray):
        small = np.asarray(Image.fromarray(g).resize((32, 32), Image.Resampling.BOX), float)
        low = dctn(small, norm="ortho")[:8, :8].ravel()
        out[i] = low > np.median(low[1:])
    return np.packbits(out, axis=1)


def hash_groups(codes: np.ndarray, max_distance: int) -> list[np.ndarray]:
    """Connected components of pairs within `max_distance` bits (brute force: small N)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    dist = np.bitwise_count(codes[:, None, :] ^ codes[None, :, :]).sum(axis=2)
    i, j = np.nonzero(np.triu(dist <= max_distance, 1))
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(codes),) * 2)
    return groups_of(connected_components(graph, directed=False)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the store, model, report")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", type=int, nargs="+", default=[0, 4, 6, 10],
                        help="alignment probes per image to score (first V of the table)")
    parser.add_argument("--stability", type=float, default=None,
                        help="bit-stability weight (default: the library's)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="dedup-quality-"))
    started = time.perf_counter()
    items = write_benchmark_store(out / "store", seed=args.seed)
    truth = np.array([it.group for it in items])
    kinds = np.array([it.kind for it in items])
    store = ImageStore(out / "store")
    print(f"benchmark: {len(items)} images, {len(np.unique(truth))} distinct tiles, "
          f"{len(items) - len(np.unique(truth))} near-copies", flush=True)
    t = time.perf_counter()
    extra = {} if args.stability is None else {"stability": args.stability}
    train_hash_model(out / "store", out / "model", seed=args.seed, device=args.device, **extra)
    train_s = time.perf_counter() - t
    compute_codes(out / "store", out / "model", out / "codes.npy", device=args.device,
                  variants=MAX_VARIANTS)
    codes = np.load(out / "codes.npy")
    probes = np.load(out / "codes.variants.npy")
    results = {}
    for variants in args.variants:
        for radius in (0, 1, 2):
            base = f"ae v={variants} r={radius}"
            kw = {"radius": radius, "variants": probes[:, :variants]}
            results[f"{base} unverified"] = score(find_groups(store, codes, verify="none", **kw),
                                                  truth, kinds)
            for thumb, threshold in ((16, 0.9), (16, 0.93), (16, 0.95), (8, 0.93)):
                groups = find_groups(store, codes, verify="pixels", threshold=threshold,
                                     thumb=thumb, **kw)
                results[f"{base} pixels{thumb}>={threshold}"] = score(groups, truth, kinds)
    results["exact bytes"] = score(byte_groups(store), truth, kinds)
    images, _ = store.get_many(np.arange(store.count))
    gray = (images.astype(float) @ [0.299, 0.587, 0.114]).round().astype(np.uint8)
    for name, fn in (("dhash", dhash), ("phash", phash)):
        bits = fn(gray)
        for distance in (4, 8, 12):
            results[f"{name} <={distance} bits"] = score(hash_groups(bits, distance), truth,
                                                         kinds)
    compute_codes(out / "store", out / "model", out / "default-codes.npy", device=args.device)
    summary = deduplicate(out / "store", out / "default-codes.npy", out / "dedup",
                          report=out / "dedup-report.json", overwrite=True)
    model_cfg = json.loads((out / "model" / "hash_model.json").read_text())
    doc = {"images": len(items), "distinct": int(len(np.unique(truth))),
           "near_copies": int(len(items) - len(np.unique(truth))),
           "kinds": {k: int((kinds == k).sum()) for k in KINDS},
           "train_seconds": round(train_s, 1), "model": {k: v for k, v in model_cfg.items()
                                                        if k != "bit_rates"},
           "default_run": summary.metadata(), "results": results,
           "seconds": round(time.perf_counter() - started, 1)}
    print(f"{'method':38s} {'removed':>8s} {'false':>6s} {'prec':>7s} {'recall':>7s}  "
          + " ".join(f"{k[:6]:>6s}" for k in KINDS))
    for name, r in results.items():
        print(f"{name:38s} {r['removed']:8d} {r['false_removals']:6d} {r['precision']:7.4f} "
              f"{r['recall']:7.4f}  " + " ".join(f"{r['recall_by_kind'][k]:6.2f}" for k in KINDS))
    print(f"default run ({summary.radius=}, {summary.verify=}): {summary.line()}")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
