"""`example-csv`: the scalars of each logging interval as rows of RUN/example-metrics.csv,
for a spreadsheet. A tracker is any object with the five `Sink` methods; this one has
nothing to do with scores or images, so those are no-ops."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

FILE = "example-metrics.csv"


class CsvTracker:
    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / FILE

    def start(self, config: Any, step: int) -> None:
        """A resumed run drops the rows logged after the checkpoint it resumes from, as
        gantk does with metrics.jsonl, so no step appears twice."""
        if step == 0 or not self.path.is_file():
            return
        with open(self.path, newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= step]
        fields = list(rows[0]) if rows else []
        with open(self.path, "w", newline="") as fh:
            if fields:
                writer = csv.DictWriter(fh, fields)
                writer.writeheader()
                writer.writerows(rows)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        row = {"step": step, **{k: v for k, v in values.items() if k != "step"}}
        new = not self.path.is_file() or self.path.stat().st_size == 0
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, list(row), extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)

    def scores(self, step: int, results: dict[str, Any]) -> None:
        pass

    def image(self, step: int, name: str, path: Path) -> None:
        pass

    def close(self) -> None:
        pass
