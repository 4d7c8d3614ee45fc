"""`jsonl`: the run's own record, `RUN/metrics.jsonl`. Always on (every run opens it
first); it is the file that resume truncates, `gantk eval`/`viz` and Dagster read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.specs import TrackerSpec

if TYPE_CHECKING:
    from gantk.training.config import RunConfig
    from gantk.training.sinks import Sink


def open_jsonl(run_dir: Path, config: RunConfig) -> Sink:
    from gantk.training.sinks import JsonlSink

    return JsonlSink(run_dir)


@hookimpl
def register_trackers(register):
    register(TrackerSpec(
        "jsonl", open_jsonl,
        description="RUN/metrics.jsonl: a line per logging interval and per evaluation "
                    "(always on)"))
