"""Which sinks a run feeds: `metrics.jsonl` always (the `jsonl` tracker), then the
trackers its config names (`gantk run --log NAME`), looked up in the plugin registry by
name, so the core never imports a concrete tracker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gantk.contract.registry import get_registry
from gantk.training.config import RunConfig
from gantk.training.sinks import Sinks

ALWAYS = "jsonl"


def tracker_names(config: RunConfig) -> list[str]:
    """`jsonl` first, then the configured trackers in order, each once."""
    return list(dict.fromkeys([ALWAYS, *config.trackers]))


def open_trackers(config: RunConfig, run_dir: Path, sinks: Sinks,
                  log: Callable[[str], None]) -> None:
    """Open each tracker of `config` into `sinks`. One that cannot start is reported in
    one line and left out: a tracker never stops a training."""
    registry = get_registry()
    for name in tracker_names(config):
        try:
            sink = registry.get("tracker", name).open(Path(run_dir), config)
        except Exception as exc:
            log(f"warning: tracker {name} could not start ({type(exc).__name__}: {exc}); "
                "training goes on without it")
            continue
        sinks.add(name, sink)
