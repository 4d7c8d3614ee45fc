"""De-duplicating a store from its codes: bucket, probe, verify, write the kept images."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gantk.datasets.dedup import settings as S
from gantk.datasets.dedup.buckets import MAX_RADIUS, candidate_groups
from gantk.datasets.dedup.codes import load_codes, load_variant_codes
from gantk.datasets.dedup.report import write_contact_sheet, write_report
from gantk.datasets.dedup.summary import DedupSummary
from gantk.datasets.dedup.verify import DEFAULT_THUMB, VERIFY, verify_groups
from gantk.errors import GantkError
from gantk.store import ImageStore, ImageStoreWriter, close_readers, is_store

Progress = Callable[[int, int | None], None]
DEFAULT_RADIUS = S.RADIUS.default
DEFAULT_VERIFY = S.VERIFY.default
DEFAULT_THRESHOLD = S.THRESHOLD.default
REPORT_NAME = "dedup-report.json"


def find_groups(store: ImageStore, codes: np.ndarray, radius: int = DEFAULT_RADIUS,
                verify: str = DEFAULT_VERIFY, threshold: float = DEFAULT_THRESHOLD,
                crop: float = 1.0, thumb: int = DEFAULT_THUMB,
                variants: np.ndarray | None = None,
                progress: Progress | None = None) -> list[np.ndarray]:
    """Duplicate groups (ascending image indices, 2+ each; the first is kept).

    `variants` `(N, V, 16)`: the alignment-probe codes, also bucketed for candidates."""
    _check_settings(radius, verify, thumb)
    return _find_groups_timed(store, codes, radius, verify, threshold, crop, thumb, variants,
                              progress, {})


def _find_groups_timed(store: ImageStore, codes: np.ndarray, radius: int, verify: str,
                       threshold: float, crop: float, thumb: int, variants: np.ndarray | None,
                       progress: Progress | None, seconds: dict[str, float]
                       ) -> list[np.ndarray]:
    """find_groups' work, recording the seconds of its two stages in `seconds`."""
    started = time.perf_counter()
    groups = candidate_groups(np.asarray(codes), radius, variants)
    seconds["bucket"] = round(time.perf_counter() - started, 3)
    if verify == "pixels":
        started = time.perf_counter()
        groups = verify_groups(store, groups, threshold, crop, thumb, progress)
        seconds["verify"] = round(time.perf_counter() - started, 3)
    return groups


def _check_settings(radius: int, verify: str, thumb: int) -> None:
    if not 0 <= radius <= MAX_RADIUS:
        raise GantkError(f"radius must be 0 to {MAX_RADIUS} bits, got {radius}")
    if thumb not in (1, 2, 4, 8, 16, 32):
        raise GantkError(f"thumb must divide 32 (2, 4, 8, 16 or 32), got {thumb}")
    if verify not in VERIFY:
        raise GantkError(f"unknown verify {verify!r}; use one of {', '.join(VERIFY)}")


def deduplicate(store: Path, codes: Path, dest: Path, *, report: Path | None = None,
                radius: int = DEFAULT_RADIUS, verify: str = DEFAULT_VERIFY,
                threshold: float = DEFAULT_THRESHOLD, overwrite: bool = False,
                thumb: int = DEFAULT_THUMB, progress: Progress | None = None,
                contact_sheet: Path | None = None, batch_size: int = 512) -> DedupSummary:
    """Write `store` minus its near-duplicates to `dest` (the first image of each group is
    kept), a JSON report (`dest/dedup-report.json` unless `report`) and a contact sheet PNG
    beside the report. `verify="pixels"` checks each removal against the kept image
    (similarity >= `threshold`); `radius` probes codes within that Hamming distance."""
    started = time.perf_counter()
    store, dest = Path(store), Path(dest)
    check_dest(store, dest, overwrite)
    reader = ImageStore(store)
    code_array, code_info = load_codes(Path(codes), reader)
    probe_codes = load_variant_codes(Path(codes), reader.count)
    crop = _model_crop(code_info)
    _check_settings(radius, verify, thumb)
    stage_seconds: dict[str, float] = {}
    groups = _find_groups_timed(reader, code_array, radius, verify, threshold, crop, thumb,
                                probe_codes, None, stage_seconds)
    removed = np.zeros(reader.count, bool)
    for group in groups:
        removed[group[1:]] = True
    stats = {"total": reader.count, "kept": int(reader.count - removed.sum()),
             "removed": int(removed.sum()), "groups": len(groups),
             "largest_group": max((len(g) for g in groups), default=0),
             "radius": radius, "verify": verify, "variants": probe_codes.shape[1],
             "threshold": threshold if verify != "none" else 0.0,
             "thumb": thumb if verify != "none" else 0}
    _write_store(reader, dest, removed, {**stats, "source_store": str(store.resolve()),
                                         "source_fingerprint": reader.meta.get("fingerprint")},
                 batch_size, progress)
    stage_seconds["write"] = round(time.perf_counter() - started - sum(stage_seconds.values()),
                                   3)
    report = Path(report) if report else dest / REPORT_NAME
    sheet = write_contact_sheet(Path(contact_sheet) if contact_sheet else
                                report.with_suffix(".png"), reader, groups)
    seconds = time.perf_counter() - started
    write_report(report, reader, groups, {
        **stats, "removed_fraction": stats["removed"] / max(reader.count, 1),
        "store": str(store.resolve()), "dest": str(dest.resolve()),
        "codes": str(Path(codes).resolve()), "model": code_info.get("model"),
        "contact_sheet": str(sheet) if sheet else None, "seconds": round(seconds, 3),
        "stage_seconds": stage_seconds,
        "settings": {"radius": radius, "verify": verify, "threshold": threshold,
                     "thumb": thumb, "variants": probe_codes.shape[1],
                     "keep": "first index of each group"}})
    return DedupSummary(dest=dest, report=report, contact_sheet=sheet, seconds=seconds,
                        **stats)


def _model_crop(code_info: dict) -> float:
    """The crop the hash model was trained with, so verification sees the same pixels."""
    model = code_info.get("model")
    config = Path(model).with_suffix(".json") if model else None
    if config and config.is_file():
        return float(json.loads(config.read_text()).get("crop", 1.0))
    return 1.0


def check_dest(store: Path, dest: Path, overwrite: bool) -> None:
    if dest.exists() and dest.resolve() == store.resolve():
        raise GantkError(f"DEST {dest} is the source store itself; choose another DEST")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())) and not overwrite:
        kind = "an ImageStore" if is_store(dest) else "not empty"
        raise GantkError(f"{dest} exists and is {kind}; pass --overwrite to replace it or "
                         "choose another DEST")


def _write_store(reader: ImageStore, dest: Path, removed: np.ndarray, stats: dict,
                 batch_size: int, progress: Progress | None) -> None:
    """Copy the kept images (labels and source keys too) into a temporary sibling of
    `dest` and rename it into place: a kill never leaves a half-written DEST."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        writer = ImageStoreWriter(tmp, reader.resolution, reader.channels,
                                  encoding=reader.encoding, source=reader.meta.get("source", ""),
                                  overwrite=True, extra={"src": reader.meta.get("src", "")})
        kept = np.flatnonzero(~removed)
        for start in range(0, len(kept), batch_size):
            chunk = kept[start:start + batch_size]
            images, labels = reader.get_many(chunk)
            for row, index in enumerate(chunk):
                label = None if labels is None or labels[row] < 0 else int(labels[row])
                writer.add(images[row], label, reader.source_key(int(index)))
            if progress:
                progress(start + len(chunk), len(kept))
        writer.close(dedup=stats)
        close_readers(tmp)
        if dest.exists():
            close_readers(dest)
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
