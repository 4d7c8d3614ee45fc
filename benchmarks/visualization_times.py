"""Seconds each built-in visualization takes on CPU, at paper widths.

Trains a 1-step run of the paper's `dcgan` (full widths: ngf = ndf = 64 at 32x32, 128 at
64x64) on a small real ImageStore, then times every visualization on it. The weights are
barely trained, but the cost is the same as on a finished run.

    .venv/bin/python benchmarks/visualization_times.py --resolution 32 64
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from gantk.evaluation.runner import run_eval
from gantk.training.config import make_config
from gantk.training.trainer import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import write_store  # noqa: E402  (the suite's real-LMDB store writer)


def time_all(resolution: int, root: Path) -> dict[str, float]:
    store = write_store(root / f"store{resolution}", count=64, resolution=resolution,
                        channels=3)
    run = root / f"run{resolution}"
    Trainer(make_config({"architecture": "dcgan", "data": str(store), "steps": 1,
                         "batch_size": 16, "device": "cpu", "checkpoint_every": 1}),
            run, log=lambda *_: None).fit()
    boxes = root / "boxes.json"
    half = resolution // 2
    boxes.write_text(json.dumps({"seed": 0, "boxes": {
        str(i): [[0, 0, half, half]] if i % 3 == 0 else [] for i in range(48)}}))
    jobs = {"samples": {}, "latent-walk": {"slerp": True},
            "vector-arithmetic": {"a": "1,2,3", "b": "4,5,6", "c": "7,8,9"},
            "guided-backprop": {}, "filter-ablation": {"boxes": str(boxes)},
            "training-curves": {}}
    seconds = {}
    for name, options in jobs.items():
        start = time.perf_counter()
        run_eval(name, run, options=options, device="cpu", kind="visualization")
        seconds[name] = round(time.perf_counter() - start, 2)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resolution", type=int, nargs="+", default=[32, 64])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for resolution in args.resolution:
            print(json.dumps({"resolution": resolution,
                              "seconds": time_all(resolution, Path(tmp))}))


if __name__ == "__main__":
    main()
