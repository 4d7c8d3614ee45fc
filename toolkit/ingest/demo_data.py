"""The embedded default data: Fashion-MNIST from Debian's package, converted once into an
ImageStore under GANTK_HOME; scikit-learn's digits when that package is absent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gantk.home import stores_dir
from gantk.store import is_store, read_metadata

PREFERRED = ("fashion-mnist", "digits")


def default_store(notify: Callable[[str], None] = print,
                  progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Path of the default store, ingesting it on first use."""
    from gantk.contract.registry import get_registry
    from gantk.ingest.engine import ingest

    registry = get_registry()
    for name in PREFERRED:
        spec = registry.dataset(name)
        src = spec.default_path() if spec.default_path else None
        if src is None:
            notify(f"{name} is not installed here (Debian package dataset-fashion-mnist); "
                   "falling back to the next default")
            continue
        dest = stores_dir() / name
        if is_store(dest) and read_metadata(dest).get("complete"):
            return dest
        notify(f"converting {name} from {src} into {dest} (once)")
        summary = ingest(name, src, dest, progress=progress)
        notify(summary.line())
        return dest
    raise RuntimeError("no default dataset is available")  # digits ships with scikit-learn
