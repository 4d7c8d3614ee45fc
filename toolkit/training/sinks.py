"""Where a training's numbers and pictures go: one stream, many sinks.

The trainer hands every record to `Sinks`, which fans it out: `metrics.jsonl` always,
plus whatever trackers a run asks for. A sink that raises is reported once and dropped,
so a broken tracker never stops a training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from gantk.training.config import RunConfig


class Sink(Protocol):
    """A metric sink. Every method is optional in spirit: a sink that has nothing to do
    with a record implements it as a no-op."""

    def start(self, config: RunConfig, step: int) -> None:
        """The run's configuration, once; `step` > 0 when the run resumes."""

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Losses, D outputs and throughput of one logging window."""

    def scores(self, step: int, results: dict[str, Any]) -> None:
        """One in-training evaluation: scores plus what produced them (network, N)."""

    def image(self, step: int, name: str, path: Path) -> None:
        """A sample grid written to `path`."""

    def close(self) -> None:
        """The run stopped (finished, interrupted or failed)."""


class JsonlSink:
    """`metrics.jsonl`: one line per logging window (`{"step", "loss_d", …}`) and one per
    evaluation (`{"step", "kind": "scores", …}`), appended and flushed line by line."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"

    def _append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def start(self, config: RunConfig, step: int) -> None:
        pass

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self._append({"step": step, **values})

    def scores(self, step: int, results: dict[str, Any]) -> None:
        self._append({"step": step, "kind": "scores", **results})

    def image(self, step: int, name: str, path: Path) -> None:
        pass

    def close(self) -> None:
        pass


class Sinks:
    """Fans each record out to every sink; a sink that raises is reported once through
    `log` (by its tracker name) and dropped, and the training goes on."""

    def __init__(self, sinks: list[Any] | None = None, log: Any = print) -> None:
        self._sinks: list[tuple[str, Any]] = [(type(s).__name__, s) for s in sinks or []]
        self._log = log

    def add(self, name: str, sink: Any) -> None:
        self._sinks.append((name, sink))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._sinks]

    def _each(self, method: str, *args: Any) -> None:
        for entry in list(self._sinks):
            name, sink = entry
            try:
                getattr(sink, method)(*args)
            except Exception as exc:  # a tracker must never stop a training
                self._sinks.remove(entry)
                self._log(f"warning: tracker {name} failed in {method} "
                          f"({type(exc).__name__}: {exc}); training goes on without it")

    def start(self, config: RunConfig, step: int) -> None:
        self._each("start", config, step)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self._each("scalars", step, values)

    def scores(self, step: int, results: dict[str, Any]) -> None:
        self._each("scores", step, results)

    def image(self, step: int, name: str, path: Path) -> None:
        self._each("image", step, name, path)

    def close(self) -> None:
        self._each("close")


def numbers(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric leaves of `record` (nested dicts joined with "/"), for trackers that
    plot numbers only; strings, booleans and lists are left to metrics.jsonl."""
    out: dict[str, float] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(numbers(value, f"{name}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out
