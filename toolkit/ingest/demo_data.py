"""The embedded default data: the dataset sources that offer themselves as demo data
(`DatasetSpec.demo_rank`: Fashion-MNIST from Debian's package, then scikit-learn's
digits), the first installed one converted once into an ImageStore under GANTK_HOME."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gantk.errors import ConfigError
from gantk.home import stores_dir
from gantk.store import is_store, read_metadata


def default_store(notify: Callable[[str], None] = print,
                  progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Path of the default store, ingesting it on first use."""
    from gantk.contract.registry import get_registry
    from gantk.ingest.engine import ingest

    registry = get_registry()
    candidates = sorted((s for s in map(registry.dataset, registry.names("dataset"))
                         if s.demo_rank is not None), key=lambda s: s.demo_rank)
    for spec in candidates:
        name = spec.name
        src = spec.default_path() if spec.default_path else None
        if src is None:
            notify(f"demo dataset {name} is not installed here (its files were not found); "
                   "falling back to the next one")
            continue
        dest = stores_dir() / name
        if is_store(dest) and read_metadata(dest).get("complete"):
            return dest
        notify(f"converting {name} from {src} into {dest} (once)")
        summary = ingest(name, src, dest, progress=progress)
        notify(summary.line())
        return dest
    raise ConfigError("no demo dataset is installed (none of the sources offering one found "
                      "its files); pass --data STORE")
