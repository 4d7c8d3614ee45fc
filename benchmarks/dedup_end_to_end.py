"""`dedup_store` on a small store, now and as gantk ran it before issue 20, in one run.

    .venv/bin/python benchmarks/dedup_end_to_end.py [--images 1000] [--rounds 1]

Writes the synthetic store of dedup_stages.py (64x64, 10% near-copies) and de-duplicates
it with the library's defaults ("now") and with the schedule of before, alternating:
the 2,000-step floor (`converge=False`), the grid-sampling warp
(dedup_train_step.grid_sample_warp) and torch's default thread count for training. Prints
wall and CPU seconds (this process, all threads), training steps and removals per run,
and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_stages import synthetic_store  # noqa: E402
from dedup_train_step import grid_sample_warp  # noqa: E402

from gantk.datasets.dedup import corruption, dedup_store, train  # noqa: E402


def run(store: Path, dest: Path, before: bool) -> dict:
    import json

    import torch

    warp, threads = corruption.warp, train.TRAIN_THREADS
    if before:
        corruption.warp, train.TRAIN_THREADS = grid_sample_warp, torch.get_num_threads()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        summary = dedup_store(store, dest, work_dir=dest.parent / f"{dest.name}-work",
                              device="cpu", overwrite=True,
                              **({"converge": False} if before else {}))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        corruption.warp, train.TRAIN_THREADS = warp, threads
    model = json.loads((dest.parent / f"{dest.name}-work" / "hash-model" /
                        "hash_model.json").read_text())
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "steps": model["steps"],
            "removed": summary.removed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dedup-e2e-") as tmp:
        store = Path(tmp) / "store"
        planted = synthetic_store(store, args.images)
        print(f"{args.images} images, {planted} near-copies; load average {os.getloadavg()}")
        for round_ in range(1, args.rounds + 1):
            for name, before in (("before", True), ("now", False)):
                got = run(store, Path(tmp) / f"{name}{round_}", before)
                print(f"round {round_} {name:6s} {got}  load average {os.getloadavg()}",
                      flush=True)


if __name__ == "__main__":
    main()
