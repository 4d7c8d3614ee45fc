"""How long the hash model must train: precision and recall against training steps.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup_training_length.py \
        [--steps 100 300 1000 2000] [--seeds 0 1 2] [--json PATH]

Builds the near-copy benchmark store of dedup_quality.py (same seed, same images), trains
the hash model for each fixed step count (`max_steps=N, converge=False`; 2000 is the
schedule gantk used before it stopped at convergence) and once with the library's
default (a step floor, then stop when the probe set's code stability stops rising), and
scores the default de-dup setting (6 probes, radius 1, aligned 16x16 verification >= 0.93)
of each. Prints training seconds, steps, precision, recall and the stability curve.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_nearcopies import write_benchmark_store  # noqa: E402
from dedup_quality import score  # noqa: E402

from gantk.datasets.dedup import compute_codes, find_groups  # noqa: E402
from gantk.datasets.dedup.train import train_hash_model  # noqa: E402
from gantk.store import ImageStore  # noqa: E402


def trial(out: Path, name: str, truth: np.ndarray, kinds: np.ndarray, seed: int,
          **train) -> dict:
    started = time.perf_counter()
    train_hash_model(out / "store", out / name, seed=seed, device="cpu", **train)
    train_s = time.perf_counter() - started
    compute_codes(out / "store", out / name, out / f"{name}.npy", device="cpu")
    store = ImageStore(out / "store")
    groups = find_groups(store, np.load(out / f"{name}.npy"),
                         variants=np.load(out / f"{name}.variants.npy"))
    config = json.loads((out / name / "hash_model.json").read_text())
    result = score(groups, truth, kinds)
    return {"train_seconds": round(train_s, 1), "steps": config["steps"],
            "precision": result["precision"], "recall": result["recall"],
            "false_removals": result["false_removals"], "removed": result["removed"],
            "code_stability": config["code_stability"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="*", default=[100, 300, 1000, 2000],
                        help="fixed step counts to train (converge=False)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="benchmark draws (store and model seeds)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="dedup-length-"))
    results: dict[str, dict[str, dict]] = {}
    for seed in args.seeds:
        work = out / f"seed{seed}"
        items = write_benchmark_store(work / "store", seed=seed)
        truth = np.array([it.group for it in items])
        kinds = np.array([it.kind for it in items])
        runs = {f"{steps} steps": {"max_steps": steps, "converge": False}
                for steps in args.steps}
        runs["default"] = {}
        for name, train in runs.items():
            got = trial(work, name.replace(" ", "_"), truth, kinds, seed, **train)
            results.setdefault(name, {})[f"seed {seed}"] = got
            print(f"seed {seed} {name}: {json.dumps(got)}", flush=True)
    print(f"{'training':14s} {'steps':>6s} {'seconds':>8s} {'false':>6s} {'precision':>9s} "
          f"{'recall':>7s}   (means over seeds {args.seeds})")
    for name, by_seed in results.items():
        rows = list(by_seed.values())
        mean = {k: float(np.mean([r[k] for r in rows]))
                for k in ("steps", "train_seconds", "false_removals", "precision", "recall")}
        print(f"{name:14s} {mean['steps']:6.0f} {mean['train_seconds']:8.1f} "
              f"{mean['false_removals']:6.1f} {mean['precision']:9.4f} {mean['recall']:7.4f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
