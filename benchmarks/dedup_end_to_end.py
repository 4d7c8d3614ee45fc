"""`dedup_store` on a small store, now and as gantk ran it before issue 20, in one run.

    .venv/bin/python benchmarks/dedup_end_to_end.py [--images 1000] [--rounds 1]
                                                    [--before 150df53] [--no-before]

Writes the synthetic store of dedup_stages.py (64x64, 10% near-copies) and de-duplicates
it with the library's defaults ("now") and, alternating, with gantk's own code at the
commit `--before` (default: the last one before the issue-20 work), extracted with `git
archive` and imported from there in a subprocess, so "before" is exactly what gantk ran
then (its 2,000-step floor, its warp, its normalization, torch's default thread count).
Each run is a fresh process that has imported torch and gantk before the clock starts.
Prints wall and CPU seconds (all threads), training steps and removals per run, and the
load average.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_stages import synthetic_store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BEFORE = "150df53"  # "Give the core rooms…": the commit the issue-20 work started from

RUN = """
import json, sys, time
from pathlib import Path
import torch
from gantk.datasets.dedup import dedup_store
store, dest = Path(sys.argv[1]), Path(sys.argv[2])
started, cpu = time.perf_counter(), time.process_time()
summary = dedup_store(store, dest, work_dir=dest.parent / (dest.name + "-work"),
                      device="cpu", overwrite=True)
wall, cpu = time.perf_counter() - started, time.process_time() - cpu
model = json.loads((dest.parent / (dest.name + "-work") / "hash-model" /
                    "hash_model.json").read_text())
print(json.dumps({"wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                  "steps": model["steps"], "removed": summary.removed}))
"""


def wings(setup_py: Path) -> dict[str, str]:
    """setup.py's `WINGS` (package name -> folder), read without running setup()."""
    for node in ast.parse(setup_py.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] \
                == ["WINGS"]:
            return ast.literal_eval(node.value)
    raise SystemExit(f"{setup_py} has no WINGS mapping: lay the old tree out by hand")


def old_tree(commit: str, into: Path) -> Path:
    """gantk's sources at `commit`, laid out as the `gantk` package by that commit's own
    setup.py (a folder to put on PYTHONPATH: it comes before the editable install of the
    working tree)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit],
                             check=True, capture_output=True).stdout
    source = into / "source"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(source, filter="data")
    root = into / "path"
    for name, folder in wings(source / "setup.py").items():
        package = root / name.replace(".", "/")
        package.parent.mkdir(parents=True, exist_ok=True)
        if name == "gantk":  # the core wing is the package itself: link its contents
            package.mkdir(exist_ok=True)
            for entry in (source / folder).iterdir():
                (package / entry.name).symlink_to(entry)
        else:  # gantk.plugins etc.: one link per wing
            package.symlink_to(source / folder)
    return root


def run(store: Path, dest: Path, pythonpath: Path | None) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    out = subprocess.run([sys.executable, "-c", RUN, str(store), str(dest)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--before", default=BEFORE, help="the commit to compare with")
    parser.add_argument("--no-before", action="store_true", help="time the current code only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dedup-e2e-") as tmp:
        store = Path(tmp) / "store"
        planted = synthetic_store(store, args.images)
        versions = {"now": None}
        if not args.no_before:
            versions = {"before": old_tree(args.before, Path(tmp) / "before"), **versions}
        print(f"{args.images} images, {planted} near-copies; before = {args.before}; "
              f"load average {os.getloadavg()}")
        for round_ in range(1, args.rounds + 1):
            for name, path in versions.items():
                got = run(store, Path(tmp) / f"{name}{round_}", path)
                print(f"round {round_} {name:6s} {got}  load average {os.getloadavg()}",
                      flush=True)


if __name__ == "__main__":
    main()
