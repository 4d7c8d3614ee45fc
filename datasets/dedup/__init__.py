"""De-duplication with the DCGAN paper's autoencoder semantic hash (section 4.1.1).

A 3072-128-3072 denoising, dropout-regularized ReLU autoencoder is fitted on 32x32
center crops of a store; its code layer, thresholded at 0, is a 128-bit hash; images
sharing a code (optionally: within a small Hamming radius, verified by pixels) are
near-duplicates, and only the first of each group is kept. Three steps, each usable on
its own (Dagster runs them as separate assets), or all at once with `dedup_store`.
Importing this package is light: torch is imported inside the functions that need it.
"""

from gantk.datasets.dedup.codes import compute_codes
from gantk.datasets.dedup.dedup import deduplicate, find_groups
from gantk.datasets.dedup.pipeline import dedup_store
from gantk.datasets.dedup.summary import DedupSummary
from gantk.datasets.dedup.train import train_hash_model

__all__ = ["DedupSummary", "compute_codes", "dedup_store", "deduplicate", "find_groups",
           "train_hash_model"]
