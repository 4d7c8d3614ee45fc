"""Time and peak memory of each de-dup stage (train / hash / bucket / verify / write).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup_stages.py --images 1000 10000 \
        [--workers 1 2] [--train-steps N] [--no-converge] [--json PATH]

For each size, a synthetic 64x64 RGB store (smooth random images, 10% of them near-copies
of another: shifted a pixel or two, brightened, re-noised) is written, then each stage
runs in its own fresh process so its peak resident memory is its own (`peak_mib`; the
largest hashing worker's is `peak_worker_mib`, meaningful for the hash stage only), with
its wall seconds and its CPU seconds (all its processes: on idle cores, the wall time of
one-thread work):
  - train: train_hash_model with the library's defaults (sample, step floor, convergence;
    `--no-converge`: the whole budget), reporting its steps;
  - hash: compute_codes with the default 6 alignment probes, once per `--workers` count
    (the codes must be identical: checked);
  - dedup: deduplicate with the defaults; its report splits the time into bucket,
    verify and write.
Prints one JSON line per stage and a table; `--json` keeps them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STAGE = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
stage, work, workers = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, sys.argv[4])
from ingest import _descendant_cpu
seen, stop = {}, threading.Event()
poll = threading.Thread(target=lambda: [_descendant_cpu(os.getpid(), seen)
                                        for _ in iter(lambda: stop.wait(0.2), True)])
poll.start()
started, cpu_started = time.perf_counter(), time.process_time()
extra = {}
if stage == "train":
    from gantk.datasets.dedup import train_hash_model
    steps = int(sys.argv[5])
    train_hash_model(work / "store", work / "model", device="cpu", converge=sys.argv[6] == "1",
                     **({"max_steps": steps} if steps else {}))
    config = json.loads((work / "model" / "hash_model.json").read_text())
    extra = {"steps": config["steps"], "sample": config["sample"]}
elif stage == "hash":
    from gantk.datasets.dedup import compute_codes
    compute_codes(work / "store", work / "model", work / f"codes{workers}.npy", device="cpu",
                  workers=workers)
else:
    from gantk.datasets.dedup import deduplicate
    summary = deduplicate(work / "store", work / f"codes{workers}.npy", work / "dedup",
                          overwrite=True)
    extra = json.loads(summary.report.read_text())["stage_seconds"]
    extra["removed"] = summary.removed
seconds = time.perf_counter() - started
stop.set()
poll.join()
cpu = time.process_time() - cpu_started + sum(seen.values())
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"stage": stage, "workers": workers, "seconds": round(seconds, 2),
                  "cpu_seconds": round(cpu, 2),
                  "peak_mib": round(own / 1024), "peak_worker_mib": round(kids / 1024),
                  **extra}))
"""


def synthetic_store(path: Path, count: int, seed: int = 0) -> int:
    """Smooth random 64x64 images (a random 8x8 field upsampled, plus noise); every tenth
    is a near-copy of an earlier one. Returns the number of planted near-copies."""
    from PIL import Image

    from gantk.store import ImageStoreWriter

    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    planted = 0
    with ImageStoreWriter(path, 64, 3, source="synthetic", overwrite=True) as writer:
        for i in range(count):
            if i % 10 == 9:
                base = kept[rng.integers(len(kept))]
                dy, dx = rng.integers(-2, 3, size=2)
                img = np.roll(base, (dy, dx), axis=(0, 1)).astype(np.int16)
                img = img * rng.uniform(0.85, 1.15) + rng.normal(0, 3, img.shape)
                planted += 1
            else:
                field = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
                img = np.asarray(Image.fromarray(field).resize((64, 64),
                                                               Image.Resampling.BILINEAR))
                img = img + rng.normal(0, 6, img.shape)
                kept.append(np.clip(img, 0, 255).astype(np.uint8))
            writer.add(np.clip(img, 0, 255).astype(np.uint8), source_key=f"img/{i:08d}")
    return planted


def run_stage(stage: str, work: Path, workers: int = 1, train_steps: int = 0,
              converge: bool = True) -> dict:
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run([sys.executable, "-c", STAGE, stage, str(work), str(workers), here,
                          str(train_steps), str(int(converge))],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--train-steps", type=int, default=0,
                        help="cap training at this many steps (0: the library's default); "
                             "a step costs the same at any store size")
    parser.add_argument("--no-converge", action="store_true",
                        help="train through the whole budget (the library's converge=False)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for count in args.images:
        with tempfile.TemporaryDirectory(prefix="dedup-stages-") as tmp:
            work = Path(tmp)
            started = time.perf_counter()
            planted = synthetic_store(work / "store", count)
            print(f"{count} images ({planted} near-copies) written in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            for stage, workers in [("train", 1), *(("hash", w) for w in args.workers),
                                   ("dedup", args.workers[0])]:  # de-dup: the first codes
                row = {"images": count, **run_stage(stage, work, workers, args.train_steps,
                                                    not args.no_converge)}
                print(json.dumps(row), flush=True)
                rows.append(row)
            codes = [np.load(work / f"codes{w}.npy") for w in args.workers]
            probes = [np.load(work / f"codes{w}.variants.npy") for w in args.workers]
            same = all(np.array_equal(codes[0], c) for c in codes) and \
                all(np.array_equal(probes[0], p) for p in probes)
            print(f"codes identical for workers {args.workers}: {same}", flush=True)
            if not same:
                raise SystemExit("codes differ between worker counts")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
