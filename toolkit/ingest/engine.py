"""Ingest: a dataset source's records -> an ImageStore, parallel, resumable and idempotent.

The source is read in this process, in its own order; decoding, cropping and resizing run
in worker processes and come back in that same order, so keys and contents do not depend
on `workers`. Inputs already in the store (by source key) are not decoded again, and all
regions of one input are committed together, so a killed ingest run again ends with
exactly the images of one clean run. Bad inputs are skipped with a reason and listed in
`DEST/ingest-report.json`.
"""

from __future__ import annotations

import functools
import itertools
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from gantk.atomic import write_text_atomic
from gantk.contract.specs import DatasetSpec, Record, Skipped
from gantk.errors import GantkError, disk_error
from gantk.ingest.decode import BadImage, Crops, Transform, prepare_crops
from gantk.ingest.parallel import ordered_map, usable_cpus
from gantk.locks import DirLock
from gantk.store import (
    ImageStoreWriter,
    UnfinishedStoreError,
    close_readers,
    is_store,
    read_metadata,
    verify_store,
)

REPORT_NAME = "ingest-report.json"
CHUNK = 32  # records per worker task: large enough to amortize the inter-process hop
COMMIT_EVERY = 512  # records per LMDB transaction at most …
COMMIT_SECONDS = 2.0  # … and at least this often, so a kill loses little slow work
SMALL = 256  # inputs that decode faster in this process than worker start-up takes
SMALL_ARRAY = 64 * 64 * 3  # arrays (CIFAR, SVHN, MNIST) this small stay in this process


@dataclass
class IngestSummary:
    dest: str
    ingested: int = 0
    already_present: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    duplicates: int = 0
    count: int = 0
    inputs: int = 0
    workers: int = 1
    seconds: float = 0.0
    verified: str = ""  # the fingerprint every stored record was checked against

    def line(self) -> str:
        return (f"{self.ingested} ingested, {len(self.skipped)} skipped, "
                f"{self.duplicates} duplicates ({self.count} in {self.dest})")


@dataclass(frozen=True)
class _Job:
    """What a worker needs to turn records into pixels (picklable)."""

    resolution: int
    channels: int
    transform: Transform
    crops: Crops | None
    options: dict[str, Any]


# One outcome per input: (key, label, [(source key, pixels)] or None if present, reason)
_Outcome = tuple[str, int | None, list | None, str | None]


# A work item: (source key, image, label, find regions?); image None: already stored,
# image a BadImage: the source could not read the input.
_Item = tuple[str, Any, int | None, bool]


def _process(chunk: list[_Item], job: _Job) -> list[_Outcome]:
    out: list[_Outcome] = []
    for key, image, label, regions_wanted in chunk:
        if image is None:
            out.append((key, label, None, None))
            continue
        try:
            if isinstance(image, BadImage):
                raise image
            regions = prepare_crops(image, job.resolution, job.channels, job.transform,
                                    job.crops if regions_wanted else None, job.options)
        except BadImage as exc:
            out.append((key, label, [], str(exc)))
            continue
        out.append((key, label, [(key if s is None else f"{key}#{s}", px) for s, px in regions],
                    None))
    return out


def _chunks(records: Iterable[Record | Skipped], writer: ImageStoreWriter,
            finds_regions: bool) -> Iterator[list[_Item]]:
    """Records in chunks; inputs already stored travel without their image."""
    chunk: list[_Item] = []
    for record in records:
        if isinstance(record, Skipped):
            chunk.append((record.key, BadImage(record.reason), None, False))
        else:
            regions = finds_regions and not record.whole
            # All regions of one input commit together: one stored region means all are.
            present = (writer.has_source_prefix(f"{record.key}#") if regions
                       else writer.has_source(record.key))
            chunk.append((record.key, None if present else record.image, record.label, regions))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _resolve_src(spec: DatasetSpec, source: str, src: str | os.PathLike[str] | None) -> Path:
    if src is None:
        found = spec.default_path() if spec.default_path else None
        if found is None:
            raise GantkError(f"dataset source {source!r} needs a SRC path")
        src = found
    src = Path(src)
    if not src.exists():
        raise GantkError(f"{src}: no such file or directory; pass the {source} data's location")
    return src


def _check_same_input(dest: Path, src: Path, options: dict[str, Any], overwrite: bool) -> bool:
    """Appending resumes one ingest; a store made from other data is refused. Returns
    whether to replace DEST (asked for, or an empty store a failed start left behind)."""
    if overwrite or not is_store(dest):
        return overwrite
    try:
        meta = read_metadata(dest)
    except UnfinishedStoreError:  # killed while being created: nothing in it yet
        return True
    if meta.get("count") == 0:
        return True
    for name, ours in (("src", str(src.resolve())), ("options", options)):
        if name in meta and meta[name] != ours:
            raise GantkError(f"{dest} already holds a store ingested with {name} "
                             f"{meta[name]!r} (not {ours!r}); pass --overwrite to replace it "
                             "or choose another DEST")
    return False


def _workers(workers: int | None, total: int | None, first: Record | Skipped | None) -> int:
    if workers is None:
        workers = usable_cpus()
        if total is not None and total <= SMALL:
            workers = 1  # starting processes costs more than decoding a few images
        image = getattr(first, "image", None)
        if isinstance(image, np.ndarray) and image.size <= SMALL_ARRAY:
            workers = 1  # decoded already: padding a 28x28 costs less than the hop
    if workers < 0:
        raise GantkError(f"--workers must be 0 or more, got {workers}")
    return max(1, workers)


def ingest(source: str, src: str | os.PathLike[str] | None, dest: str | os.PathLike[str],
           resolution: int | None = None, limit: int | None = None, overwrite: bool = False,
           options: dict[str, Any] | None = None, encoding: str = "raw",
           progress: Callable[[int, int | None], None] | None = None,
           workers: int | None = None) -> IngestSummary:
    """Read `src` with the registered dataset source `source` and write the store `dest`.

    `workers`: decoding processes (default: the usable CPUs; 0 or 1: in this process).
    `limit`: stop after that many inputs (in the source's order). Running it again with
    the same arguments resumes; `overwrite=True` replaces a store made from other data.
    """
    from gantk.contract.registry import get_registry

    started = time.perf_counter()
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise GantkError("gantk's ingest ran while a worker process was starting: put the "
                         "calling script's top-level code under `if __name__ == '__main__':`")
    from gantk.contract.options import validate_options

    spec = get_registry().dataset(source)
    options = validate_options(spec, "dataset", options)
    src = _resolve_src(spec, source, src)
    resolution = resolution or spec.default_resolution
    if resolution < 1:
        raise GantkError(f"--resolution must be positive, got {resolution}")
    if limit is not None and limit < 0:
        raise GantkError(f"--limit must be 0 or more, got {limit}")
    dest = Path(dest)
    # held from the check to the end: another ingest cannot slip in between and be replaced
    with DirLock(dest, "ImageStore"):
        return _ingest_locked(spec, source, src, dest, resolution, limit, overwrite, options,
                              encoding, progress, workers, started)


def _ingest_locked(spec: DatasetSpec, source: str, src: Path, dest: Path, resolution: int,
                   limit: int | None, overwrite: bool, options: dict[str, Any], encoding: str,
                   progress: Callable[[int, int | None], None] | None, workers: int | None,
                   started: float) -> IngestSummary:
    overwrite = _check_same_input(dest, src, options, overwrite)
    total = spec.length(src, options) if spec.length else None
    if limit is not None:
        total = limit if total is None else min(total, limit)
    records = iter(islice(spec.open(src, options), limit))
    first = next(records, None)
    if first is not None:
        records = itertools.chain([first], records)
    summary = IngestSummary(dest=str(dest), workers=_workers(workers, total, first))
    job = _Job(resolution, spec.channels, spec.transform, spec.crops, options)
    with ImageStoreWriter(dest, resolution, spec.channels, encoding=encoding, source=source,
                          overwrite=overwrite, batch_size=1 << 62,
                          extra={"src": str(src.resolve()), "options": options,
                                 "transform": spec.transform,
                                 "classes": spec.classes(src, options) if spec.classes
                                 else None}) as writer:
        chunks = _chunks(records, writer, spec.crops is not None)
        outcomes = ordered_map(functools.partial(_process, job=job), chunks, summary.workers,
                               preload=("gantk.ingest.engine",))
        _write(outcomes, writer, summary, lambda done: progress and progress(done, total))
        summary.count = writer.count
    # read every record back against the fingerprint: what training will see is what we wrote
    summary.verified = verify_store(dest)["fingerprint"]
    close_readers(dest)
    summary.seconds = round(time.perf_counter() - started, 3)
    try:
        write_text_atomic(dest / REPORT_NAME, json.dumps(asdict(summary), indent=1,
                                                         ensure_ascii=False))
    except OSError as exc:
        raise disk_error(exc, dest / REPORT_NAME, "the ingest report") from None
    if summary.inputs == 0 and limit != 0:
        raise GantkError(f"{src} holds no inputs that the {source!r} source reads (0 images "
                         f"ingested into {dest}); check SRC (e.g. the images' folder) and "
                         "the source's options")
    return summary


def _write(results: Iterable[list[_Outcome]], writer: ImageStoreWriter,
           summary: IngestSummary, progress: Callable[[int], Any]) -> None:
    """Store outcomes in input order; commit whole inputs only (their regions together),
    every COMMIT_EVERY images or COMMIT_SECONDS."""
    uncommitted, committed_at = 0, time.monotonic()
    for outcomes in results:
        for key, label, regions, reason in outcomes:
            summary.inputs += 1
            if reason is not None:
                summary.skipped.append({"key": key, "reason": reason})
            elif regions is None:
                summary.already_present += 1
            else:
                uncommitted += _add(writer, regions, label, summary)
            progress(summary.inputs)
        if uncommitted >= COMMIT_EVERY or (
                uncommitted and time.monotonic() - committed_at >= COMMIT_SECONDS):
            writer.flush()
            uncommitted, committed_at = 0, time.monotonic()


def _add(writer: ImageStoreWriter, regions: list, label: int | None,
         summary: IngestSummary) -> int:
    added = 0
    for source_key, pixels in regions:
        if writer.has_source(source_key):  # the same key twice in one source
            summary.already_present += 1
            continue
        writer.add(pixels, label, source_key)
        summary.ingested += 1
        added += 1
    return added
