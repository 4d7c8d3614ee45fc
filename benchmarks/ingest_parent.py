"""Where the ingesting process's own CPU goes: per thread, per image, over repeated ingests.

    .venv/bin/python benchmarks/ingest_parent.py [--images 3000] [--rounds 3]
    py-spy record --gil --threads -r 500 -f raw -o parent.txt -- \
        .venv/bin/python benchmarks/ingest_parent.py --rounds 4

Writes the LSUN-format LMDB of benchmarks/ingest.py, ingests it `--rounds` times in this
process (the fork server starts in the first round) and prints, per round, the CPU
milliseconds per image of this process's main thread (reading the source, handing chunks
out, writing the store, the fingerprint, the final read-back) and of its other threads
(the executor's result and feeder threads: pickles and pipes). Under
py-spy (`pip install py-spy`), `--gil` samples show the main thread's Python time by
function.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import RESOLUTION, write_lsun  # noqa: E402


def main() -> None:
    from gantk.ingest.engine import ingest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gantk-bench-") as tmp:
        os.environ.setdefault("GANTK_HOME", str(Path(tmp) / "home"))
        src, dest = Path(tmp) / "bedroom_train_lmdb", Path(tmp) / "store"
        write_lsun(src, args.images)
        for round_ in range(1, args.rounds + 1):
            shutil.rmtree(dest, ignore_errors=True)
            thread, process = time.thread_time(), time.process_time()
            ingest("lsun", src, dest, resolution=RESOLUTION)
            # the process's CPU includes its threads that have ended (the executor's)
            thread, process = time.thread_time() - thread, time.process_time() - process
            print(f"round {round_}: main thread {1e3 * thread / args.images:.3f} ms/image, "
                  f"the executor's threads {1e3 * (process - thread) / args.images:.3f} "
                  "ms/image", flush=True)


if __name__ == "__main__":
    main()
