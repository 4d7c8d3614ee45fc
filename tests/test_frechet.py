"""FID/KID arithmetic: closed forms, scipy's matrix square root, sample estimates."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from gantk.plugins.evals.lib.frechet import (
    frechet_distance,
    gaussian_stats,
    kernel_inception_distance,
)


def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fid_closed_form_for_commuting_gaussians():
    # diagonal covariances commute: FID = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, -1.0])
    expected = 1 + 0 + 9 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)
    assert frechet_distance(mu1, np.diag(a), mu1, np.diag(a)) == pytest.approx(0, abs=1e-9)


def test_fid_matches_scipy_sqrtm_for_general_covariances():
    rng = np.random.default_rng(0)
    d = 40
    s1, s2 = _spd(rng, d), _spd(rng, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    reference = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-8)


def test_fid_of_samples_converges_to_the_closed_form():
    rng = np.random.default_rng(1)
    a, b = np.array([1.0, 2.0]), np.array([3.0, 0.5])
    x = rng.normal(size=(200_000, 2)) * np.sqrt(a)
    y = rng.normal(size=(200_000, 2)) * np.sqrt(b) + np.array([1.0, 0.0])
    expected = 1 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(*gaussian_stats(x), *gaussian_stats(y)) == pytest.approx(
        expected, abs=0.02)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    same, _ = kernel_inception_distance(x, y, subsets=20, subset_size=300)
    shifted, std = kernel_inception_distance(x, y + 0.5, subsets=20, subset_size=300)
    assert abs(same) < 0.02 and shifted > 10 * max(abs(same), std)
