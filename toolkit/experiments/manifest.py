"""OUT/sweep.json: what a sweep is (preset, grid, seeds, the base request) and how far
each run of it got (pending, done, or failed with its one-line reason). Written
atomically after every change, so a killed sweep knows where to continue."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gantk.atomic import write_text_atomic
from gantk.errors import ConfigError, StoreError

NAME = "sweep.json"
PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass
class RunEntry:
    """One point x seed: an ordinary run directory, `point/seed-N` under the sweep."""

    point: str
    seed: int
    settings: dict[str, Any]
    status: str = PENDING
    reason: str | None = None
    step: int | None = None

    @property
    def folder(self) -> str:
        return f"{self.point}/seed-{self.seed}"


@dataclass
class Manifest:
    definition: dict[str, Any]  # preset, grid, seeds, base request: what must match on rerun
    runs: list[RunEntry] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {PENDING: 0, DONE: 0, FAILED: 0}
        for run in self.runs:
            out[run.status] += 1
        return out

    def save(self, out: Path) -> None:
        doc = {"format": "gantk-sweep/1", **self.definition,
               "runs": [asdict(r) for r in self.runs]}
        write_text_atomic(out / NAME, json.dumps(doc, indent=2) + "\n")


DEFINITION_KEYS = ("preset", "grid", "seeds", "base")


def is_sweep(path: Path) -> bool:
    return (Path(path) / NAME).is_file()


def load(out: Path) -> Manifest:
    path = Path(out) / NAME
    try:
        doc = json.loads(path.read_text())
        return Manifest({k: doc[k] for k in DEFINITION_KEYS},
                        [RunEntry(**r) for r in doc["runs"]])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path} is not a readable sweep manifest ({exc}); choose another "
                         "--out or remove the folder") from None


def check_same(old: Manifest, new: Manifest, out: Path) -> None:
    """A rerun continues the sweep only when it asks for the same sweep."""
    differ = [k for k in DEFINITION_KEYS if old.definition[k] != new.definition[k]]
    if differ:
        raise ConfigError(f"{out} holds a different sweep ({', '.join(differ)} differ); "
                          "rerun it with its original arguments to continue it, or choose "
                          "another --out")


@contextlib.contextmanager
def locked(out: Path) -> Iterator[Manifest]:
    """The manifest, read and written back under an exclusive lock: for faces that run a
    sweep's runs in separate processes (Dagster's executors), each recording its own."""
    import fcntl

    with open(Path(out) / ".sweep.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = load(out)
        yield manifest
        manifest.save(out)


def record(out: Path, entry: RunEntry) -> None:
    """Write one run's outcome into the manifest (safe from concurrent processes)."""
    with locked(out) as manifest:
        for i, run in enumerate(manifest.runs):
            if run.folder == entry.folder:
                manifest.runs[i] = entry
