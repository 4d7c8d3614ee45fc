"""The sweep engine: every point x seed of a grid as an ordinary run directory under OUT,
trained through the one core entry (`gantk.training.entry.train`), one after another in
this process or `parallel` at a time in subprocesses. A killed sweep continues when run
again: done runs are skipped, a run with a checkpoint is resumed exactly, one without is
restarted. A run that fails (NaN, any GantkError, a crash) is recorded and the sweep goes on.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gantk.errors import ConfigError
from gantk.experiments import manifest as mf
from gantk.experiments.grid import Point, points
from gantk.experiments.manifest import Manifest, RunEntry
from gantk.training.request import RunRequest, check_request, no_bar

if TYPE_CHECKING:
    from gantk.progress import Bars


class SweepInterrupted(Exception):
    """Ctrl-C stopped the sweep (or one of its runs); the manifest says where."""


@dataclass
class Sweep:
    """A base request (preset, data, flags, --set, run file), a grid and seeds, in `out`."""

    base: RunRequest
    grid: dict[str, list[str]]
    seeds: list[int]
    out: Path

    def definition(self) -> dict:
        base = json.loads(self.base.to_json())
        for per_run in ("out", "resume"):
            del base[per_run]
        doc = {"preset": self.base.preset_name(), "grid": self.grid, "seeds": self.seeds,
               "base": base}
        return json.loads(json.dumps(doc))  # as it reads back from sweep.json

    @classmethod
    def from_manifest(cls, out: Path, manifest: Manifest) -> Sweep:
        """The sweep a manifest describes (how a worker process finds its run)."""
        base = RunRequest.from_json(json.dumps({**manifest.definition["base"], "out": None,
                                                "resume": False}))
        return cls(base, manifest.definition["grid"], manifest.definition["seeds"], out)

    def plan(self) -> Manifest:
        return Manifest(self.definition(), [RunEntry(p.name, s, p.settings())
                                            for p in points(self.grid) for s in self.seeds])

    def point(self, name: str) -> Point:
        return next(p for p in points(self.grid) if p.name == name)

    def request(self, run: RunEntry, resume: bool = False) -> RunRequest:
        """The run's request: the base, its seed, then its grid settings (which win)."""
        return replace(self.base, out=self.out / run.folder, resume=resume,
                       flags={**self.base.flags, "seed": run.seed},
                       overrides=[*self.base.overrides, *self.point(run.point).overrides()])


def open_sweep(sweep: Sweep, retry_failed: bool = False) -> Manifest:
    """Check every run's configuration (torch-free, before any work), then start the
    manifest or continue the one in `out` (refused if it is another sweep)."""
    planned = sweep.plan()
    for run in planned.runs:
        check_request(sweep.request(run))
    if mf.is_sweep(sweep.out):
        manifest = mf.load(sweep.out)
        mf.check_same(manifest, planned, sweep.out)
        if retry_failed:
            for run in manifest.runs:
                if run.status == mf.FAILED:
                    run.status, run.reason = mf.PENDING, None
    elif sweep.out.exists() and any(sweep.out.iterdir()):
        raise ConfigError(f"{sweep.out} exists and holds no sweep (no {mf.NAME}); choose "
                          "another --out")
    else:
        manifest = planned
    sweep.out.mkdir(parents=True, exist_ok=True)
    manifest.save(sweep.out)
    return manifest


def prepare_run_dir(run_dir: Path) -> bool:
    """True when the run resumes from its checkpoint; a start without one is cleared."""
    from gantk.training.checkpoint import latest_checkpoint

    if latest_checkpoint(run_dir) is not None:
        return True
    if run_dir.exists():
        shutil.rmtree(run_dir)
    return False


Log = Callable[[str], None]


def run_sweep(sweep: Sweep, manifest: Manifest, log: Log = print, bar: Bars | None = None,
              parallel: int = 1) -> Manifest:
    """Train every pending run; raises SweepInterrupted on Ctrl-C (the manifest is kept)."""
    todo = [r for r in manifest.runs if r.status == mf.PENDING]
    total = len(manifest.runs)
    with (bar or no_bar)("sweep") as update:
        def finished(run: RunEntry) -> None:
            manifest.save(sweep.out)
            counts = manifest.counts()
            log(f"{run.folder}: {run.status}" + (f" ({run.reason})" if run.reason else "")
                + f"  [{total - counts[mf.PENDING]}/{total} runs finished]")
            if update:
                update(total - counts[mf.PENDING], total, {"failed": counts[mf.FAILED]})

        if update:
            update(total - len(todo), total, {"failed": manifest.counts()[mf.FAILED]})
        if parallel > 1:
            from gantk.experiments.parallel import run_parallel

            if sweep.base.data is None:  # converted once here, not by racing children
                from gantk.ingest.demo_data import default_store

                default_store(notify=log)

            run_parallel(sweep, todo, parallel, finished, log)
        else:
            for run in todo:
                run_in_process(sweep, run, log)
                finished(run)
    return manifest


def run_in_process(sweep: Sweep, run: RunEntry, log: Log) -> None:
    """One run through the core entry; its outcome is written into `run`."""
    from gantk.errors import GantkError
    from gantk.training.entry import TrainEvents, train

    resume = prepare_run_dir(sweep.out / run.folder)
    log(f"{run.folder}: {'resuming' if resume else 'starting'}")
    try:
        result = train(sweep.request(run, resume), TrainEvents(log=log))
    except GantkError as exc:
        run.status, run.reason = mf.FAILED, str(exc)
        return
    except KeyboardInterrupt:  # a second Ctrl-C, or one between two steps
        raise SweepInterrupted(run.folder) from None
    except Exception as exc:  # a crash is a result of this point, not the sweep's end
        run.status, run.reason = mf.FAILED, f"crashed: {type(exc).__name__}: {exc}"
        return
    if result.interrupted:
        raise SweepInterrupted(run.folder)
    run.status, run.step = mf.DONE, result.step
