"""The Coates & Ng k-means encoder against a direct per-patch computation: triangle
activation of whitened, normalized patches, sum-pooled over the four quadrants."""

from __future__ import annotations

import torch

from gantk.plugins.evals.lib.kmeans import KMeansFeatures


def _direct(images: torch.Tensor, mean, whiten, centroids, rf: int) -> torch.Tensor:
    n, c, h, w = images.shape
    side = h - rf + 1
    half = round(side / 2)
    out = torch.zeros(n, 4, centroids.shape[0], dtype=torch.float64)
    for i in range(n):
        for y in range(side):
            for x in range(side):
                patch = images[i, :, y:y + rf, x:x + rf].double().flatten()
                patch = (patch - patch.mean()) / torch.sqrt(patch.var() + 10.0)
                white = (patch - mean.double()) @ whiten.double()
                dist = (white - centroids.double()).norm(dim=1)
                act = (dist.mean() - dist).clamp_min(0)
                out[i, 2 * (y >= half) + (x >= half)] += act
    return out.flatten(1)


def test_encoder_matches_the_per_patch_definition():
    gen = torch.Generator().manual_seed(3)
    rf, k = 3, 5
    images = torch.randint(0, 256, (3, 1, 10, 10), generator=gen, dtype=torch.uint8)
    mean = torch.randn(rf * rf, generator=gen) * 0.1
    whiten = torch.eye(rf * rf) + 0.05 * torch.randn(rf * rf, rf * rf, generator=gen)
    centroids = torch.randn(k, rf * rf, generator=gen)
    encode = KMeansFeatures(mean, whiten, centroids, rf=rf, chunk=2)
    got = encode(images)
    assert got.shape == (3, 4 * k)
    assert torch.allclose(got.double(), _direct(images, mean, whiten, centroids, rf),
                          rtol=1e-4, atol=1e-3)
