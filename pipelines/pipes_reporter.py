"""Reporting back to Dagster from the training process the train asset launches.

The asset runs `gantk.pipelines.train_process` through Dagster Pipes (so the same asset can
launch `torchrun` or a cluster job later). In that process this module streams log lines
and metrics to the orchestrator and reports the materialization. Outside Pipes
(`DAGSTER_PIPES_CONTEXT` unset, or a torchrun rank other than 0) it does nothing.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gantk.training.trainer import TrainResult

PIPES_ENV = "DAGSTER_PIPES_CONTEXT"
# Metric lines are streamed at most this often (a long run logs every 10 steps).
METRICS_INTERVAL_S = 5.0


class PipesReporter:
    """Forwards log lines and metrics to Dagster; a no-op when `pipes` is None."""

    def __init__(self, pipes: Any | None, interval_s: float = METRICS_INTERVAL_S):
        self.pipes = pipes
        self.interval_s = interval_s
        self._last_sent = -math.inf

    @property
    def active(self) -> bool:
        return self.pipes is not None

    def tee(self, log: Callable[[str], None]) -> Callable[[str], None]:
        """A log function that writes to `log` and, under Pipes, to Dagster's event log."""
        if self.pipes is None:
            return log

        def both(message: str) -> None:
            log(message)
            self.pipes.log.info(str(message))

        return both

    def metrics(self, values: dict[str, float]) -> None:
        """Stream one metrics record (throttled to one per `interval_s`)."""
        if self.pipes is None:
            return
        now = time.monotonic()
        if now - self._last_sent < self.interval_s:
            return
        self._last_sent = now
        self.pipes.log.info(metrics_line(values))

    def error(self, message: str) -> None:
        """A one-line failure, shown in Dagster's event log."""
        if self.pipes is not None:
            self.pipes.log.error(message)

    def training_done(self, result: TrainResult) -> None:
        """Report the trained model: steps, throughput, final losses and where files are."""
        if self.pipes is None:
            return
        config = json.loads((result.run_dir / "config.json").read_text())
        metadata: dict[str, Any] = {
            "steps": {"raw_value": result.step, "type": "int"},
            "interrupted": {"raw_value": result.interrupted, "type": "bool"},
            "run_dir": {"raw_value": str(result.run_dir), "type": "path"},
            "checkpoint": {"raw_value": str(result.checkpoint), "type": "path"},
            "samples_path": {"raw_value": str(result.final_grid), "type": "path"},
            "metrics_path": {"raw_value": str(result.run_dir / "metrics.jsonl"), "type": "path"},
        }
        for key, value in result.metrics.items():
            if key != "step" and _number(value) and math.isfinite(value):
                metadata[key] = {"raw_value": float(value), "type": "float"}
        # settings, not outcomes: text, so Dagster does not plot them across runs
        for key in ("architecture", "loss", "resolution", "channels", "batch_size", "data"):
            if config.get(key) is not None:
                metadata[key] = {"raw_value": str(config[key]), "type": "text"}
        self.pipes.report_asset_materialization(metadata=metadata)


def metrics_line(values: dict[str, Any]) -> str:
    """`step N: key=value …`; score records carry text too ("kind", "network"): numbers only."""
    shown = "  ".join(f"{k}={v:.4g}" for k, v in values.items() if k != "step" and _number(v))
    return f"step {int(values.get('step', 0))}: {shown}"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@contextlib.contextmanager
def pipes_reporter() -> Iterator[PipesReporter]:
    """Open Dagster Pipes when launched by Dagster (errors inside are reported to it).

    Under torchrun only rank 0 reports, so Dagster sees one materialization.
    """
    if PIPES_ENV not in os.environ or os.environ.get("RANK", "0") != "0":
        yield PipesReporter(None)
        return
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        yield PipesReporter(pipes)
