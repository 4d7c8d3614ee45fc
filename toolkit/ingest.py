"""Ingest: a dataset source's records -> an ImageStore, resumable and idempotent.

Records already in the store (by source key) are skipped, so a killed ingest run again
ends with exactly the images of one clean run. Bad inputs are skipped with a reason and
listed in `DEST/ingest-report.json`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gantk.atomic import write_text_atomic
from gantk.errors import GantkError
from gantk.imageops import BadImage, prepare
from gantk.store import ImageStoreWriter


@dataclass
class IngestSummary:
    dest: str
    ingested: int = 0
    already_present: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    duplicates: int = 0
    count: int = 0

    def line(self) -> str:
        return (f"{self.ingested} ingested, {len(self.skipped)} skipped, "
                f"{self.duplicates} duplicates ({self.count} in {self.dest})")


def ingest(source: str, src: str | os.PathLike[str] | None, dest: str | os.PathLike[str],
           resolution: int | None = None, limit: int | None = None, overwrite: bool = False,
           options: dict[str, Any] | None = None, encoding: str = "raw",
           progress: Callable[[int, int | None], None] | None = None) -> IngestSummary:
    """Read `src` with the registered dataset source `source` and write `dest`."""
    from gantk.registry import get_registry

    spec = get_registry().dataset(source)
    options = dict(options or {})
    if src is None:
        found = spec.default_path() if spec.default_path else None
        if found is None:
            raise GantkError(f"dataset source {source!r} needs a SRC path")
        src = found
    src = Path(src)
    if not src.exists():
        raise GantkError(f"{src}: no such file or directory; pass the {source} data's location")
    resolution = resolution or spec.default_resolution
    dest = Path(dest)
    summary = IngestSummary(dest=str(dest))
    total = spec.length(src, options) if spec.length else None
    if limit is not None and total is not None:
        total = min(total, limit)
    with ImageStoreWriter(dest, resolution, spec.channels, encoding=encoding, source=source,
                          overwrite=overwrite, extra={"src": str(src)}) as writer:
        for seen, record in enumerate(spec.open(src, options)):
            if limit is not None and seen >= limit:
                break
            if writer.has_source(record.key):
                summary.already_present += 1
            else:
                try:
                    pixels = prepare(record.image, resolution, spec.channels, spec.transform)
                except BadImage as exc:
                    summary.skipped.append({"key": record.key, "reason": str(exc)})
                else:
                    writer.add(pixels, record.label, record.key)
                    summary.ingested += 1
            if progress:
                progress(seen + 1, total)
        summary.count = writer.count
    write_text_atomic(dest / "ingest-report.json", json.dumps(asdict(summary), indent=1))
    return summary
