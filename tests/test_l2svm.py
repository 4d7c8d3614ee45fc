"""The torch L2-SVM solves LinearSVC's problem: same accuracy, same objective."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.svm import LinearSVC

from gantk.plugins.evals.lib.l2svm import _targets, fit_l2svm, objective


def _split(X, y, n_train, seed=0):
    p = np.random.default_rng(seed).permutation(len(X))
    X, y = X[p].astype(np.float32), y[p]
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _compare(Xtr, ytr, Xte, yte, C, **kw):
    sk = LinearSVC(C=C, loss="squared_hinge", penalty="l2").fit(Xtr, ytr)
    ours = fit_l2svm(torch.from_numpy(Xtr), torch.from_numpy(ytr), C, **kw)
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
    assert f_ours <= f_sk * (1 + 1e-3)  # liblinear's default stopping rule: within 0.1%
    *_, f_sk, f_tight = _compare(*_split(X, y, 1000), C, tol=1e-4)
    assert f_tight <= f_sk * (1 + 1e-5)  # tighter: at least as good a minimum


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


def _correlated(n: int, d: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    basis = torch.randn(40, d, generator=gen) * (torch.arange(1, 41.0) ** -0.5)[:, None]
    z = torch.randn(n, 40, generator=gen)
    X = (z @ basis).relu() + 0.1 * torch.randn(n, d, generator=gen)
    X = (X - X.mean(0)) / X.std(0)
    return X, (z[:, :3] @ torch.tensor([1.0, -1.0, 0.5])).gt(0).long() + 2 * (z[:, 3] > 0)


def test_preconditioner_inverts_its_matrix():
    from gantk.plugins.evals.lib.svm_precond import CovariancePreconditioner

    X, _ = _correlated(500, 60)
    pre = CovariancePreconditioner.from_rows(X, rows=200, rank=20)
    assert torch.allclose(pre.basis.T @ pre.basis, torch.eye(20), atol=1e-4)
    scale = torch.tensor([0.5, 30.0])
    R = torch.randn(60, 2)
    M = [(1 + c * pre.tail) * torch.eye(60) + pre.basis @ torch.diag(c * (pre.eig - pre.tail))
         @ pre.basis.T for c in scale]
    got = pre.solve(R, scale)
    for k in range(2):
        assert torch.allclose(M[k] @ got[:, k], R[:, k], atol=1e-4)


def test_preconditioned_fit_same_solution_fewer_passes():
    X, y = _correlated(3000, 300)
    plain = fit_l2svm(X, y, 0.05, tol=1e-4, precondition=False)
    pre = fit_l2svm(X, y, 0.05, tol=1e-4, precondition=True)
    Y, _ = _targets(y)
    f_plain = objective(X, Y, plain.weight, plain.bias, 0.05).sum().item()
    f_pre = objective(X, Y, pre.weight, pre.bias, 0.05).sum().item()
    assert f_pre == pytest.approx(f_plain, rel=1e-4)
    assert (pre.predict(X) == plain.predict(X)).float().mean() > 0.995
    assert pre.data_passes < plain.data_passes / 2, (pre.data_passes, plain.data_passes)
