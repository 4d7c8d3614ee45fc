"""Ingest throughput against a plain single-process PIL decode+resize loop, one run.

Writes an LSUN-format LMDB (hex-id keys, WebP values of real photos at LSUN's size,
256 pixels on the short side), then alternates the two measurements round by round so
that both see the same machine load, and prints both rates and their ratio; a third
measurement, as many plain loops at once as gantk has workers (each on its share, forked,
writing nothing), is the ceiling the machine itself gives a parallel decode:

    .venv/bin/python benchmarks/ingest.py [--images 2000] [--rounds 3] [--workers N]

The loop is what one would write by hand: decode, RGB, center crop, resize to 64. The
ingest figure includes everything `gantk ingest lsun` does: starting its worker
processes, EXIF/mode handling, and writing the ImageStore.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import lmdb
import numpy as np
from PIL import Image

RESOLUTION = 64


def _photos() -> list[Image.Image]:
    from skimage import data

    names = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
             "immunohistochemistry")
    return [Image.fromarray(getattr(data, n)()).convert("RGB") for n in names]


def write_lsun(path: Path, count: int, seed: int = 0) -> None:
    """`count` distinct 341x256 WebP crops of real photos, keyed by 40-hex-digit ids."""
    rng = np.random.default_rng(seed)
    photos = _photos()
    with lmdb.open(str(path), map_size=1 << 32) as env, env.begin(write=True) as txn:
        for i in range(count):
            img = photos[i % len(photos)]
            w, h = img.size
            cw, ch = int(rng.integers(w // 2, w)), int(rng.integers(h // 2, h))
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            crop = img.crop((x, y, x + cw, y + ch)).resize((341, 256), Image.Resampling.BICUBIC)
            buf = io.BytesIO()
            crop.save(buf, format="WEBP", quality=75)
            txn.put(f"{rng.integers(0, 2**63):040x}".encode(), buf.getvalue())


def plain_loop(path: Path, share: int = 0, shares: int = 1) -> int:
    """The reference: one process, PIL decode + center crop + resize, nothing else
    (of every `shares`-th image from the `share`-th on)."""
    done = 0
    with lmdb.open(str(path), readonly=True, lock=False) as env, env.begin() as txn:
        for i, (_, value) in enumerate(txn.cursor()):
            if i % shares != share:
                continue
            img = Image.open(io.BytesIO(value)).convert("RGB")
            w, h = img.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            img = img.crop((left, top, left + side, top + side))
            np.asarray(img.resize((RESOLUTION, RESOLUTION), Image.Resampling.BICUBIC))
            done += 1
    return done


def parallel_loops(path: Path, processes: int) -> int:
    """The machine's own ceiling: `processes` plain loops at once (forked, so no start-up
    imports), each on its share of the images; no gantk, no writing, no ordering."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return sum(pool.starmap(plain_loop, [(path, k, processes) for k in range(processes)]))


def gantk_ingest(src: Path, dest: Path, workers: int | None) -> int:
    from gantk.ingest.engine import ingest

    shutil.rmtree(dest, ignore_errors=True)
    return ingest("lsun", src, dest, resolution=RESOLUTION, workers=workers).ingested


def _descendant_cpu(root: int, seen: dict[int, float]) -> None:
    """Record the CPU seconds so far of every process below `root` (Linux /proc)."""
    children: dict[int, list[tuple[int, float]]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            cpu = (int(fields[11]) + int(fields[12])) / tick
            children.setdefault(int(fields[1]), []).append((int(entry.name), cpu))
    todo = [root]
    while todo:
        for pid, cpu in children.get(todo.pop(), []):
            seen[pid] = cpu
            todo.append(pid)


def _timed(fn, *args) -> tuple[float, float, float]:
    """(images per wall second, CPU seconds per image of this process, and of its child
    processes: workers, the fork server)."""
    seen: dict[int, float] = {}
    stop = threading.Event()
    polling = [0.0]  # the poll thread's own CPU, not counted as the measured work's

    def poll() -> None:
        while not stop.wait(0.05):
            _descendant_cpu(os.getpid(), seen)
        polling[0] = time.thread_time()

    watcher = threading.Thread(target=poll, daemon=True)
    if Path("/proc").is_dir():
        watcher.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    count = fn(*args)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    stop.set()
    if watcher.is_alive():
        watcher.join()
    return count / wall, (cpu - polling[0]) / count, sum(seen.values()) / count


def main() -> None:
    from gantk.ingest.parallel import usable_cpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="default: usable CPUs")
    parser.add_argument("--parts", action="store_true",
                        help="also time each part of the per-image work (CPU ms/image)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gantk-bench-") as tmp:
        os.environ.setdefault("GANTK_HOME", str(Path(tmp) / "home"))
        src, dest = Path(tmp) / "bedroom_train_lmdb", Path(tmp) / "store"
        write_lsun(src, args.images)
        print(f"{args.images} WebP images (341x256) -> {RESOLUTION}x{RESOLUTION}; "
              f"{usable_cpus()} usable CPUs; load average before: {os.getloadavg()}")
        processes = args.workers or usable_cpus()
        loop_rates, ingest_rates, ceiling_rates, loop_cpu, ingest_cpu = [], [], [], [], []
        for round_ in range(1, args.rounds + 1):
            rate, cpu, _ = _timed(plain_loop, src)
            loop_rates.append(rate)
            loop_cpu.append(cpu)
            rate, parent, children = _timed(gantk_ingest, src, dest, args.workers)
            ingest_rates.append(rate)
            ingest_cpu.append(parent + children)
            ceiling_rates.append(_timed(parallel_loops, src, processes)[0])
            print(f"round {round_}: plain loop {loop_rates[-1]:7.1f} images/s   "
                  f"gantk ingest {ingest_rates[-1]:7.1f} images/s   "
                  f"{processes} plain loops at once {ceiling_rates[-1]:7.1f} images/s   "
                  f"ratios {ingest_rates[-1] / loop_rates[-1]:.2f}x "
                  f"(ceiling {ceiling_rates[-1] / loop_rates[-1]:.2f}x)   CPU ms/image: loop "
                  f"{1e3 * loop_cpu[-1]:.2f}, ingest {1e3 * ingest_cpu[-1]:.2f} (this process "
                  f"{1e3 * parent:.2f} + workers {1e3 * children:.2f}; cores busy "
                  f"{ingest_rates[-1] * ingest_cpu[-1]:.2f})", flush=True)
        loop, ingest = statistics.median(loop_rates), statistics.median(ingest_rates)
        ceiling = statistics.median(ceiling_rates)
        print(f"median: plain loop {loop:.1f} images/s, gantk ingest {ingest:.1f} images/s, "
              f"ratio {ingest / loop:.2f}x (per-round ratios "
              f"{', '.join(f'{i / p:.2f}' for p, i in zip(loop_rates, ingest_rates))}); "
              f"{processes} plain loops at once: {ceiling:.1f} images/s, "
              f"{ceiling / loop:.2f}x (gantk reaches {ingest / ceiling:.0%} of it); "
              f"load average after: {os.getloadavg()}")
        if args.parts:
            parts(src, processes)
        print("note: with other sessions saturating the CPUs and the kernel's autogroup "
              f"scheduling (sched_autogroup_enabled={_autogroup()}), one session gets one "
              "share however many processes it runs; the CPU ms/image show the work done")


def _prepare_timed(values: list[bytes]) -> float:
    """CPU seconds gantk's decode+convert+crop+resize takes for `values` (in any process)."""
    from gantk.ingest.decode import prepare_crops

    started = time.process_time()
    for value in values:
        prepare_crops(value, RESOLUTION, 3)
    return time.process_time() - started


def parts(src: Path, workers: int, rounds: int = 3) -> None:
    """Per-image CPU of each part, best of `rounds`: PIL's header parse, decode, resize;
    gantk's whole prepare step in this process and inside worker processes (the same
    function, fed through ordered_map in chunks as ingest does); the plain loop's body."""
    from gantk.ingest.parallel import ordered_map

    with lmdb.open(str(src), readonly=True, lock=False) as env, env.begin() as txn:
        values = [bytes(v) for _, v in txn.cursor()]
    square = Image.open(io.BytesIO(values[0])).convert("RGB").crop((42, 0, 298, 256))
    chunks = [values[i:i + 32] for i in range(0, len(values), 32)]
    timings = {
        "PIL header parse": lambda: [Image.open(io.BytesIO(v)) for v in values],
        "PIL decode (WebP)": lambda: [Image.open(io.BytesIO(v)).load() for v in values],
        "PIL bicubic resize 256->64": lambda: [square.resize((RESOLUTION, RESOLUTION),
                                                             Image.Resampling.BICUBIC)
                                               for _ in values],
        "gantk prepare, this process": lambda: _prepare_timed(values),
        f"gantk prepare, through {workers} workers": lambda: sum(
            ordered_map(_prepare_timed, chunks[1:], workers)) + _prepare_timed(chunks[0]),
        "plain loop body": lambda: plain_loop(src),
    }
    for name, fn in timings.items():
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            inner = fn()
            cpu = inner if isinstance(inner, float) else time.process_time() - started
            best = min(best, cpu)
        print(f"{name:36s} {1e3 * best / len(values):6.3f} CPU ms/image", flush=True)


def _autogroup() -> str:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
