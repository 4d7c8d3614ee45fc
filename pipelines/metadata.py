"""Small helpers that turn gantk results into Dagster metadata and read it back."""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    Failure,
    MetadataValue,
)

# Images are embedded in the event log: big enough to read on the asset page (figures keep
# their axis labels legible), small enough to stay at a few hundred kilobytes.
FIGURE_PX = 1100
READABLE_PX = 512
PREVIEW_IMAGES = 32


def png_markdown(path: str | Path, title: str = "", max_px: int = FIGURE_PX,
                 min_px: int = 0) -> MetadataValue:
    """A PNG as a markdown image (data URI) that the Dagster UI shows inline: shrunk to
    `max_px`, and a small grid enlarged by whole pixels to at least `min_px` wide (at most
    `max_px`)."""
    from PIL import Image

    with Image.open(path) as picture:
        picture = picture.convert("RGB")
        picture.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
        if 0 < picture.width < min_px:
            factor = max(2, min(-(-min_px // picture.width), max_px // picture.width))
            picture = picture.resize((picture.width * factor, picture.height * factor),
                                     Image.Resampling.NEAREST)
        buf = io.BytesIO()
        picture.save(buf, format="PNG", optimize=True)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return MetadataValue.md(f"![{title or Path(path).stem}](data:image/png;base64,{data})")


def floats(values: dict[str, Any]) -> dict[str, MetadataValue]:
    """Finite numbers as float metadata (Dagster plots these across materializations)."""
    out = {}
    for key, value in values.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and math.isfinite(value):
            out[key] = MetadataValue.float(float(value))
    return out


def store_metadata(path: Path) -> dict[str, Any]:
    """Count, shape, source and fingerprint of an ImageStore, plus a preview grid."""
    import numpy as np

    from gantk.grids import save_grid
    from gantk.store import ImageStore

    store = ImageStore(path)
    meta = store.meta
    out: dict[str, Any] = {
        "path": MetadataValue.path(str(path)),
        "count": MetadataValue.int(store.count),
        # the shape never changes between materializations: text, not a plot
        "shape": MetadataValue.text(f"{store.resolution}x{store.resolution}x{store.channels}"),
        "encoding": meta.get("encoding", ""),
        "source": meta.get("source", ""),
        "fingerprint": meta.get("fingerprint", ""),
        "labeled": MetadataValue.bool(store.labeled),
    }
    if meta.get("src"):
        out["src"] = MetadataValue.path(str(meta["src"]))
    if store.count:
        rng = np.random.default_rng(0)
        picks = np.sort(rng.choice(store.count, min(PREVIEW_IMAGES, store.count), replace=False))
        images, _ = store.get_many(picks)
        preview = save_grid(images, path / "preview.png", nrow=8)
        out["preview"] = png_markdown(preview, "preview", min_px=READABLE_PX)
    return out


def log_progress(log: Callable[[str], None], label: str,
                 every_s: float = 10.0) -> Callable[..., None]:
    """A `progress(done, total)` callback that writes a line at most every `every_s`."""
    last = [time.monotonic()]

    def progress(done: int, total: int | None = None, *_: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s or (total is not None and done >= total):
            last[0] = now
            log(f"{label}: {done}" + (f"/{total}" if total else ""))

    return progress


def latest_metadata(instance: DagsterInstance, key: AssetKey,
                    partition: str | None = None) -> dict[str, Any]:
    """Metadata (raw values) of the newest materialization of `key` (in `partition`)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None),
        limit=1).records
    if not records:
        where = f" partition {partition}" if partition else ""
        raise Failure(f"{key.to_user_string()}{where} has not been materialized yet; "
                      "materialize it first")
    materialization = records[0].asset_materialization
    return {k: v.value for k, v in materialization.metadata.items()}


def upstream_path(instance: DagsterInstance, key: AssetKey, entry: str = "path",
                  partition: str | None = None) -> Path:
    """A path recorded in an upstream asset's latest metadata, checked to still exist."""
    value = latest_metadata(instance, key, partition).get(entry)
    if value is None:
        raise Failure(f"{key.to_user_string()} recorded no {entry!r}; re-materialize it")
    path = Path(value)
    if not path.exists():
        raise Failure(f"{path} (from {key.to_user_string()}) no longer exists; "
                      "re-materialize it")
    return path
