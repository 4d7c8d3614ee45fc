"""The torch L2-SVM solves LinearSVC's problem: same accuracy, same objective."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.svm import LinearSVC

from gantk.plugins.evals.l2svm import _targets, fit_l2svm, objective


def _split(X, y, n_train, seed=0):
    p = np.random.default_rng(seed).permutation(len(X))
    X, y = X[p].astype(np.float32), y[p]
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _compare(Xtr, ytr, Xte, yte, C):
    sk = LinearSVC(C=C, loss="squared_hinge", penalty="l2").fit(Xtr, ytr)
    ours = fit_l2svm(torch.from_numpy(Xtr), torch.from_numpy(ytr), C)
    acc_sk = 100 * (sk.predict(Xte) == yte).mean()
    acc_ours = 100 * (ours.predict(torch.from_numpy(Xte)).numpy() == yte).mean()
    Y, _ = _targets(torch.from_numpy(ytr))
    f_ours = objective(torch.from_numpy(Xtr), Y, ours.weight, ours.bias, C).sum().item()
    f_sk = objective(torch.from_numpy(Xtr), Y, torch.from_numpy(sk.coef_.T.astype(np.float32)),
                     torch.from_numpy(sk.intercept_.astype(np.float32)), C).sum().item()
    return acc_sk, acc_ours, f_sk, f_ours


@pytest.mark.parametrize("C", [1e-3, 1e-1])
def test_matches_linearsvc_on_digits(C):
    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    acc_sk, acc_ours, f_sk, f_ours = _compare(*_split(X, y, 1000), C)
    assert abs(acc_sk - acc_ours) <= 0.3
    assert f_ours <= f_sk * (1 + 1e-4)  # at least as good a minimum of the same objective


def test_matches_linearsvc_with_more_features_than_samples_and_two_classes():
    rng = np.random.default_rng(1)
    n, d = 1400, 1500  # the probe's regime (1000 labels, 7168 features): train on 300
    w = rng.normal(size=d)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X @ w + rng.normal(scale=20, size=n) > 0).astype(np.int64)
    acc_sk, acc_ours, f_sk, f_ours = _compare(*_split(X, y, 300), 1e-3)
    assert abs(acc_sk - acc_ours) <= 0.3
    assert f_ours == pytest.approx(f_sk, rel=1e-3)


def test_rejects_float64_and_single_class():
    with pytest.raises(ValueError, match="float32"):
        fit_l2svm(torch.zeros(4, 2, dtype=torch.float64), torch.tensor([0, 1, 0, 1]), 1.0)
    with pytest.raises(ValueError, match="two classes"):
        fit_l2svm(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), 1.0)
