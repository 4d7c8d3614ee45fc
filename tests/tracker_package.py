"""A real third-party tracker package, written into a folder for tests (found the way an
installed package is: a `*.dist-info` with a `gantk` entry point, on `sys.path`).

`recorder` writes every call it receives to RUN/recorder.jsonl; `broken-open` raises when
opened; `broken-scalars` records to RUN/broken.jsonl but raises on its first scalars;
`needs-frobnicate` is unavailable here."""

from __future__ import annotations

from pathlib import Path

from tests.plugin_package import write_installed_module

MODULE = "gantk_tracker_testplugin"
DIST = "gantk-tracker-testplugin"

PLUGIN_SOURCE = '''
"""Test trackers: registered through the same hook as any third-party tracker."""

import json

from gantk import hookimpl
from gantk.contract.specs import TrackerSpec


class Recorder:
    def __init__(self, run_dir, name="recorder"):
        self.path = run_dir / f"{name}.jsonl"

    def _write(self, **record):
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record, default=str) + "\\n")

    def start(self, config, step):
        self._write(call="start", step=step, architecture=config.architecture)

    def scalars(self, step, values):
        self._write(call="scalars", step=step, keys=sorted(values))

    def scores(self, step, results):
        self._write(call="scores", step=step, results=results)

    def image(self, step, name, path):
        self._write(call="image", step=step, name=name, exists=path.is_file())

    def close(self):
        self._write(call="close")


class BrokenScalars(Recorder):
    def scalars(self, step, values):
        raise RuntimeError("the tracker server went away")


def broken_open(run_dir, config):
    raise ConnectionError("no route to tracker host")


@hookimpl
def register_trackers(register):
    register(TrackerSpec("recorder", lambda run_dir, config: Recorder(run_dir),
                         description="every call, as JSON lines"))
    register(TrackerSpec("broken-open", broken_open))
    register(TrackerSpec("broken-scalars",
                         lambda run_dir, config: BrokenScalars(run_dir, "broken")))
    register(TrackerSpec("needs-frobnicate", lambda run_dir, config: Recorder(run_dir),
                         unavailable=lambda: "the frobnicate package is not installed"))
'''


def write_tracker_package(folder: Path) -> Path:
    """Write the package into `folder` (put `folder` on sys.path)."""
    return write_installed_module(folder, MODULE, DIST, "trackertest", PLUGIN_SOURCE)
