"""De-duplication with the DCGAN paper's autoencoder semantic hash (section 4.1.1).

A 3072-128-3072 denoising, dropout-regularized ReLU autoencoder is fitted on 32x32
center crops of a store; its code layer, thresholded at 0, is a 128-bit hash; images
sharing a code (optionally: within a small Hamming radius, verified by pixels) are
near-duplicates, and only the first of each group is kept. Three steps, each usable on
its own (Dagster runs them as separate assets), or all at once with `dedup_store`.
Importing this package is light (the names below load on first use), so that its CLI
plugin module does not slow `gantk --help` or plugin listing.
"""

import importlib
from typing import Any

_WHERE = {"compute_codes": "codes", "deduplicate": "dedup", "find_groups": "dedup",
          "dedup_store": "end_to_end", "DedupSummary": "summary", "train_hash_model": "train"}

__all__ = ["DedupSummary", "compute_codes", "dedup_store", "deduplicate", "find_groups",
           "train_hash_model"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
