"""The arithmetic of FID and KID on feature matrices (no network involved).

FID (Heusel et al. 2017): |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)). The trace of the
matrix square root is computed as the sum of square roots of the eigenvalues of
S1^(1/2) S2 S1^(1/2), which is symmetric positive semi-definite (so `eigh` applies, and
there is no complex round-off as with `scipy.linalg.sqrtm` of the non-symmetric product).
KID (Binkowski et al. 2018): unbiased MMD^2 with the kernel (x.y / d + 1)^3, averaged over
random subsets.
"""

from __future__ import annotations

import numpy as np


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof 1, float64) of `(N, D)` features."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    vals = np.linalg.eigvalsh((middle + middle.T) / 2)
    tr_covmean = np.sqrt(np.clip(vals, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def kernel_inception_distance(real: np.ndarray, fake: np.ndarray, subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID mean and standard deviation over `subsets` random subsets (as torch-fidelity)."""
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError("KID needs at least two real and two generated images")
    d = real.shape[1]
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        off = m * (m - 1)
        scores.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                      - 2 * kxy.mean())
    return float(np.mean(scores)), float(np.std(scores))
