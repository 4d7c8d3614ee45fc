"""All three steps in one call: train the hash model, hash the store, de-duplicate."""

from __future__ import annotations

import contextlib
import inspect
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk.datasets.dedup.codes import compute_codes
from gantk.datasets.dedup.dedup import check_dest, deduplicate
from gantk.datasets.dedup.summary import DedupSummary
from gantk.datasets.dedup.train import train_hash_model
from gantk.errors import GantkError

if TYPE_CHECKING:
    from gantk.progress import Bars

MODEL_DIR = "hash-model"  # inside DEST when no work_dir is given: the model stays reusable


def _options_of(fn: Callable[..., Any]) -> set[str]:
    return {p.name for p in inspect.signature(fn).parameters.values()
            if p.kind is p.KEYWORD_ONLY}


def dedup_store(store: Path, dest: Path, *, work_dir: Path | None = None,
                report: Path | None = None, model: Path | None = None,
                progress: Callable[[int, int | None], None] | None = None,
                bars: Bars | None = None, **options: Any) -> DedupSummary:
    """Train (unless `model` is given), hash and de-duplicate `store` into `dest`.

    `options` go to the step that takes them (`sample`, `epochs`, `seed`, `device`, … to
    train_hash_model; `batch_size`, `device` to compute_codes; `radius`, `verify`,
    `threshold`, `overwrite` to deduplicate). `bars(title)` (e.g.
    gantk.progress.progress_bar) gives each step its own progress bar; otherwise
    `progress` is called by each step in turn. The model and codes live in `work_dir`
    (kept); without one they are made in a temporary folder and the model is kept in
    `DEST/hash-model/`.
    """
    steps = {"train": _options_of(train_hash_model), "codes": _options_of(compute_codes),
             "dedup": _options_of(deduplicate)}
    unknown = set(options) - set().union(*steps.values()) - {"progress"}
    if unknown:
        raise GantkError(f"unknown de-dup option(s): {', '.join(sorted(unknown))}")

    def pick(step: str) -> dict[str, Any]:
        return {k: v for k, v in options.items() if k in steps[step]}

    @contextlib.contextmanager
    def stage(title: str) -> Iterator[Callable[..., None] | None]:
        if bars is None:
            yield progress
        else:
            with bars(title) as update:
                yield update

    store, dest = Path(store), Path(dest)
    check_dest(store, dest, bool(options.get("overwrite")))  # before any long work
    dest.parent.mkdir(parents=True, exist_ok=True)
    temporary = work_dir is None
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.work-", dir=dest.parent)) \
        if temporary else Path(work_dir)
    try:
        if model is None:
            model = work / MODEL_DIR
            with stage("train hash model") as update:
                train_hash_model(store, model, progress=update, **pick("train"))
        codes = work / "codes.npy"
        with stage("hash images") as update:
            compute_codes(store, model, codes, progress=update, **pick("codes"))
        with stage("de-duplicate") as update:
            summary = deduplicate(store, codes, dest, report=report, progress=update,
                                  **pick("dedup"))
        if temporary and (work / MODEL_DIR).is_dir():
            shutil.copytree(work / MODEL_DIR, dest / MODEL_DIR, dirs_exist_ok=True)
        return summary
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
