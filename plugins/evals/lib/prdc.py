"""Precision, recall, density and coverage of generated vs real features by k-nearest-
neighbour balls (Kynkäänniemi et al. 2019 for precision/recall, Naeem et al. 2020 for
density/coverage and the k=5 default).

A real point's ball has the radius of its k-th nearest real neighbour (itself excluded);
- precision: share of generated points inside some real ball,
- recall: share of real points inside some generated ball (radii from generated points),
- density: generated points' ball memberships, counted, over k x generated count,
- coverage: share of real points whose own ball holds a generated point.
Distances are computed in row chunks with `torch.cdist`, so memory stays chunk x N.
"""

from __future__ import annotations

import numpy as np
import torch

CHUNK = 1024


def _rows(x: torch.Tensor):
    for start in range(0, len(x), CHUNK):
        yield start, x[start:start + CHUNK]


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row."""
    if len(x) <= k:
        raise ValueError(f"precision/recall need more than k={k} points per set")
    out = torch.empty(len(x), dtype=x.dtype)
    for start, part in _rows(x):
        # the k+1 smallest include the point itself (distance 0)
        out[start:start + len(part)] = torch.cdist(part, x).topk(k + 1, largest=False).values[:, k]
    return out


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5) -> dict[str, float]:
    """The four scores of `(N, D)` real and `(M, D)` generated features."""
    x = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(fake), dtype=torch.float64)
    r_real, r_fake = knn_radii(x, k), knn_radii(y, k)
    in_real_ball = torch.zeros(len(y), dtype=torch.bool)
    memberships = torch.zeros(len(y), dtype=torch.float64)
    covered = torch.zeros(len(x), dtype=torch.bool)
    recalled = torch.zeros(len(x), dtype=torch.bool)
    for start, part in _rows(x):
        d = torch.cdist(part, y)  # real rows x generated columns
        inside = d <= r_real[start:start + len(part), None]
        in_real_ball |= inside.any(0)
        memberships += inside.sum(0)
        covered[start:start + len(part)] = inside.any(1)
        recalled[start:start + len(part)] = (d <= r_fake[None, :]).any(1)
    return {"precision": in_real_ball.double().mean().item(),
            "recall": recalled.double().mean().item(),
            "density": (memberships.sum() / (k * len(y))).item(),
            "coverage": covered.double().mean().item()}
