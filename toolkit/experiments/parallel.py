"""`--parallel N`: N runs of a sweep at a time, each a `gantk run` subprocess (its own
interpreter, so a crash or an out-of-memory kill takes only that run), the machine's
cores split between them through OMP_NUM_THREADS, GPUs given round-robin."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gantk.experiments import manifest as mf
from gantk.experiments.manifest import RunEntry
from gantk.experiments.sweep import Sweep, SweepInterrupted, prepare_run_dir

INTERRUPTED = 130
POLL_S = 0.2


def child_env(slot: int, parallel: int) -> dict[str, str]:
    """This child's share of the cores, and of the GPUs when there are several."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // parallel))
    gpus = [g for g in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if g]
    if len(gpus) > 1:
        env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
    return env


def _start(sweep: Sweep, run: RunEntry, slot: int, parallel: int,
           log: Callable[[str], None]) -> subprocess.Popen[bytes]:
    run_dir = sweep.out / run.folder
    resume = prepare_run_dir(run_dir)
    log(f"{run.folder}: {'resuming' if resume else 'starting'} (subprocess)")
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "gantk", *sweep.request(run, resume).cli_args()]
    with open(_log_path(run_dir), "ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                env=child_env(slot, parallel), start_new_session=True)


def _log_path(run_dir: Path) -> Path:
    return run_dir / "sweep.log"


def _outcome(run: RunEntry, code: int, run_dir: Path) -> None:
    if code == 0:
        run.status, run.reason = mf.DONE, None
        return
    lines = _log_path(run_dir).read_text(errors="replace").splitlines()
    errors = [ln[len("error: "):] for ln in lines if ln.startswith("error: ")]
    run.status = mf.FAILED
    run.reason = errors[-1] if errors else f"exited with code {code} (see {_log_path(run_dir)})"


def run_parallel(sweep: Sweep, todo: list[RunEntry], parallel: int,
                 finished: Callable[[RunEntry], None], log: Callable[[str], None]) -> None:
    """Keep `parallel` children busy until `todo` is done; Ctrl-C is passed on to them
    (each writes a checkpoint and stops), then SweepInterrupted. Children run in their own
    sessions so that a terminal's Ctrl-C reaches them once, from here."""
    waiting = list(todo)
    running: dict[int, tuple[RunEntry, subprocess.Popen[bytes]]] = {}
    interrupted = False
    try:
        while waiting or running:
            for slot in range(parallel):
                if slot not in running and waiting and not interrupted:
                    run = waiting.pop(0)
                    running[slot] = (run, _start(sweep, run, slot, parallel, log))
            for slot, (run, child) in list(running.items()):
                code = child.poll()
                if code is None:
                    continue
                del running[slot]
                if code == INTERRUPTED or code == -signal.SIGINT:
                    interrupted = True
                    continue
                _outcome(run, code, sweep.out / run.folder)
                finished(run)
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        for _, child in running.values():
            child.send_signal(signal.SIGINT)
        for _, child in running.values():
            child.wait()
        interrupted = True
    if interrupted:
        raise SweepInterrupted("parallel sweep")
