"""Coates & Ng (2011) single-layer k-means features: the paper's Table 1 baseline.

As in their kmeans_demo: 6x6 patches, each brightness/contrast normalized
((p - mean) / sqrt(var + 10), pixels in [0, 255]), ZCA-whitened (eigenvalues + 0.1),
k-means with centroids started from N(0, 0.1^2) (empty clusters reset to 0), then every
patch of an image (stride 1) encoded by the "triangle" activation
max(0, mean_k(z) - z_k) with z_k the distance to centroid k, and sum-pooled over the
four quadrants: 4k features (1600 centroids: 6,400).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from gantk.store import ImageStore


def _patches(images: torch.Tensor, rf: int) -> torch.Tensor:
    """`(N, C, H, W)` -> `(N, P, C*rf*rf)` normalized patches (P positions, row-major)."""
    cols = F.unfold(images.float(), rf).transpose(1, 2)  # (N, P, C*rf*rf)
    mean = cols.mean(2, keepdim=True)
    var = cols.var(2, keepdim=True)
    return (cols - mean) / torch.sqrt(var + 10.0)


class KMeansFeatures:
    """A fitted single-layer k-means feature extractor (call it on uint8 batches)."""

    def __init__(self, mean: torch.Tensor, whiten: torch.Tensor, centroids: torch.Tensor,
                 rf: int = 6, chunk: int = 32):
        self.mean, self.whiten, self.centroids = mean, whiten, centroids
        self.rf, self.chunk = rf, chunk
        self.c2 = centroids.pow(2).sum(1)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        outs = []
        for part in images.split(self.chunk):
            n, _, h, w = part.shape
            side = h - self.rf + 1
            p = ((_patches(part, self.rf) - self.mean) @ self.whiten).flatten(0, 1)  # (nP, d)
            # |p - c|^2 = |c|^2 - 2 p.c + |p|^2, in place on one (nP, k) buffer
            z = torch.addmm(self.c2, p, self.centroids.T, alpha=-2)
            z.add_(p.pow(2).sum(1, keepdim=True)).clamp_min_(0).sqrt_()
            f = torch.sub(z.mean(1, keepdim=True), z, out=z).clamp_min_(0)  # triangle
            f = f.reshape(n, side, side, -1)
            half = round(side / 2)
            # rows first, then columns: sums over whole contiguous (side, k) slabs run
            # about 5x faster than one strided sum over both axes of each quadrant
            top, bottom = f[:, :half].sum(1), f[:, half:].sum(1)  # (n, side, k)
            quads = [top[:, :half], top[:, half:], bottom[:, :half], bottom[:, half:]]
            outs.append(torch.cat([q.sum(1) for q in quads], 1))
        return torch.cat(outs)


@torch.no_grad()
def fit_kmeans_features(store: ImageStore, indices: np.ndarray, k: int = 1600, rf: int = 6,
                        n_patches: int = 100_000, iterations: int = 30, seed: int = 0,
                        log: Callable[[str], None] | None = None) -> KMeansFeatures:
    """Sample `n_patches` random patches from `store[indices]`, whiten, run k-means."""
    rng = np.random.default_rng(seed)
    per_image = 10  # patches per sampled image: only n_patches / 10 images are decoded
    picks = np.sort(rng.choice(indices, size=min(len(indices), -(-n_patches // per_image)),
                               replace=False))
    patches = []
    for start in range(0, len(picks), 256):
        images, _ = store.get_many(picks[start:start + 256])
        x = torch.from_numpy(images).permute(0, 3, 1, 2)
        cols = _patches(x, rf)  # (n, P, d)
        pos = torch.from_numpy(rng.integers(0, cols.shape[1], size=(len(x), per_image)))
        patches.append(cols.gather(1, pos.unsqueeze(2).expand(-1, -1, cols.shape[2])).flatten(0, 1))
    X = torch.cat(patches)[:n_patches]
    mean = X.mean(0)
    cov = torch.cov((X - mean).T.double())
    evals, evecs = torch.linalg.eigh(cov)
    whiten = (evecs @ torch.diag(1.0 / torch.sqrt(evals + 0.1)) @ evecs.T).float()
    X = (X - mean) @ whiten
    gen = torch.Generator().manual_seed(seed)
    centroids = torch.randn(k, X.shape[1], generator=gen) * 0.1
    for it in range(iterations):
        c2 = 0.5 * centroids.pow(2).sum(1)
        sums = torch.zeros_like(centroids)
        counts = torch.zeros(k)
        for part in X.split(8192):
            labels = (part @ centroids.T - c2).argmax(1)
            sums.index_add_(0, labels, part)
            counts += torch.bincount(labels, minlength=k).float()
        centroids = sums / counts.clamp_min(1).unsqueeze(1)  # empty clusters -> 0
        if log and (it + 1) % 10 == 0:
            log(f"k-means iteration {it + 1}/{iterations}: {int((counts == 0).sum())} empty")
    return KMeansFeatures(mean, whiten, centroids, rf)
