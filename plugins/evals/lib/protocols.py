"""The paper's two L2-SVM protocols on precomputed (memory-mapped) features.

`semisup_protocol` is dcgan_code's svhn/svhn_semisup_analysis.py: C picked from `cs` by
the mean validation error over `val_draws` draws of `labels_per_class` labels per class
(fresh draws for each C, as that script does), then the test error as mean +- 1.96 std
over `test_draws` draws. `full_protocol` is Table 1's: C picked on a held-out split of the
training set, refit on the whole training set, test accuracy.

Features are standardized with the mean and standard deviation of the training pool
(unlabeled statistics; the semi-supervised setting has those images), folded into the
weights for prediction, so validation and test features are never standardized in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from gantk.plugins.evals.lib.l2svm import L2SVM, fit_l2svm, preconditioner_for

PAPER_CS = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)  # svhn_semisup_analysis.py
Log = Callable[[str], None]
CHUNK_BYTES = 256 << 20


@dataclass
class Standardizer:
    mean: torch.Tensor
    scale: torch.Tensor

    def apply_(self, x: torch.Tensor) -> torch.Tensor:
        return x.sub_(self.mean).div_(self.scale)

    def fold(self, model: L2SVM) -> tuple[torch.Tensor, torch.Tensor]:
        """Weights and bias that act on raw features as `model` acts on standardized ones."""
        w = model.weight / self.scale.unsqueeze(1)
        return w, model.bias - self.mean @ w


def _row_chunk(features: np.ndarray) -> int:
    return max(1, CHUNK_BYTES // (4 * features.shape[1]))


def standardizer(features: np.ndarray, rows: np.ndarray, enabled: bool = True) -> Standardizer:
    """Column mean/std over `features[rows]` (float64 sums, chunked); constant columns keep 1."""
    d = features.shape[1]
    if not enabled:
        return Standardizer(torch.zeros(d), torch.ones(d))
    s1, s2 = np.zeros(d), np.zeros(d)
    rows = np.sort(rows)
    step = _row_chunk(features)
    for start in range(0, len(rows), step):
        block = np.asarray(features[rows[start:start + step]], dtype=np.float64)
        s1 += block.sum(0)
        s2 += np.square(block).sum(0)
    mean = s1 / len(rows)
    std = np.sqrt(np.maximum(s2 / len(rows) - mean**2, 0))
    std[std < 1e-6 * max(1.0, float(std.max()))] = 1.0
    return Standardizer(torch.from_numpy(mean).float(), torch.from_numpy(std).float())


def load_rows(features: np.ndarray, rows: np.ndarray, std: Standardizer) -> torch.Tensor:
    """`features[rows]` as a standardized float32 tensor (filled chunk by chunk)."""
    out = torch.empty(len(rows), features.shape[1])
    order = np.argsort(rows)
    step = _row_chunk(features)
    for start in range(0, len(rows), step):
        sel = order[start:start + step]
        block = torch.from_numpy(np.ascontiguousarray(features[rows[sel]]))
        out[torch.from_numpy(sel)] = std.apply_(block)
    return out


def errors(features: np.ndarray, rows: np.ndarray, labels: np.ndarray,
           models: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> np.ndarray:
    """Error (%) of each folded model `(weight, bias, classes)` on `features[rows]`, in one
    chunked pass over the rows whatever the number of models."""
    W = torch.cat([w for w, _, _ in models], 1)
    b = torch.cat([bb for _, bb, _ in models])
    widths = [w.shape[1] for w, _, _ in models]
    wrong = np.zeros(len(models))
    step = _row_chunk(features)
    rows = np.sort(rows)
    for start in range(0, len(rows), step):
        sel = rows[start:start + step]
        scores = torch.addmm(b, torch.from_numpy(np.ascontiguousarray(features[sel])), W)
        truth = torch.from_numpy(labels[sel])
        for m, part in enumerate(scores.split(widths, 1)):
            classes = models[m][2]
            pred = classes[(part[:, 0] > 0).long()] if part.shape[1] == 1 else classes[
                part.argmax(1)]
            wrong[m] += int((pred != truth).sum())
    return 100.0 * wrong / len(rows)


def draw_labels(labels: np.ndarray, pool: np.ndarray, per_class: int,
                rng: np.random.Generator) -> np.ndarray:
    """`per_class` pool indices of every class, without replacement."""
    picks = []
    for c in np.unique(labels[pool]):
        members = pool[labels[pool] == c]
        if len(members) < per_class:
            raise ValueError(f"class {c} has only {len(members)} training images, fewer than "
                             f"{per_class} labels per class")
        picks.append(rng.choice(members, per_class, replace=False))
    return np.concatenate(picks)


def _fit(features, labels, rows, std, C, init=None) -> tuple[L2SVM, tuple]:
    X = load_rows(features, rows, std)
    model = fit_l2svm(X, torch.from_numpy(labels[rows]), C, init=init)
    w, b = std.fold(model)
    return model, (w, b, model.classes)


def semisup_protocol(train: np.ndarray, train_labels: np.ndarray, pool: np.ndarray,
                     val: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
                     labels_per_class: int = 100, cs: tuple[float, ...] = PAPER_CS,
                     val_draws: int = 10, test_draws: int = 100, seed: int = 0,
                     standardize: bool = True, log: Log | None = None) -> dict:
    """The SVHN 1000-label protocol; errors in percent."""
    rng = np.random.default_rng(seed)
    std = standardizer(train, pool, standardize)
    per_c = []
    for C in cs:
        folded = [_fit(train, train_labels, draw_labels(train_labels, pool, labels_per_class,
                                                        rng), std, C)[1]
                  for _ in range(val_draws)]
        errs = errors(train, val, train_labels, folded)
        per_c.append({"C": C, "val_error": float(errs.mean()),
                      "val_ci": float(1.96 * errs.std())})
        if log:
            log(f"C={C:g}: validation error {errs.mean():.2f} +- {1.96 * errs.std():.2f}")
    best = min(per_c, key=lambda r: r["val_error"])
    folded = [_fit(train, train_labels, draw_labels(train_labels, pool, labels_per_class, rng),
                   std, best["C"])[1] for _ in range(test_draws)]
    test_errs = errors(test, np.arange(len(test)), test_labels, folded)
    val_errs = errors(train, val, train_labels, folded)
    return {"protocol": "semisup", "labels_per_class": labels_per_class, "C": best["C"],
            "test_error": float(test_errs.mean()), "test_ci": float(1.96 * test_errs.std()),
            "test_accuracy": float(100 - test_errs.mean()),
            "val_error": float(val_errs.mean()), "val_ci": float(1.96 * val_errs.std()),
            "cs": per_c, "draws": test_draws, "val_draws": val_draws,
            "dims": int(train.shape[1])}


def full_protocol(train: np.ndarray, train_labels: np.ndarray, pool: np.ndarray,
                  val: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
                  cs: tuple[float, ...] = PAPER_CS, standardize: bool = True,
                  log: Log | None = None) -> dict:
    """Table 1's protocol: C on a held-out split, refit on all training rows, test."""
    everything = np.concatenate([pool, val])
    std = standardizer(train, everything, standardize)
    X = load_rows(train, everything, std)  # pool rows first: X[:len(pool)] is a view
    y = torch.from_numpy(train_labels[everything])
    per_c, model = [], None
    pre = preconditioner_for(X)  # one covariance estimate serves every fit
    for C in sorted(cs):
        model = fit_l2svm(X[:len(pool)], y[:len(pool)], C, init=model, precondition=pre)
        err = float((model.predict(X[len(pool):]) != y[len(pool):]).float().mean() * 100)
        per_c.append({"C": C, "val_error": err})
        if log:
            log(f"C={C:g}: validation error {err:.2f} ({model.iterations} Newton steps)")
    best = min(per_c, key=lambda r: r["val_error"])
    final = fit_l2svm(X, y, best["C"], precondition=pre)
    del X
    w, b = std.fold(final)
    test_err = float(errors(test, np.arange(len(test)), test_labels, [(w, b, final.classes)])[0])
    return {"protocol": "full", "C": best["C"], "test_error": test_err,
            "test_accuracy": 100 - test_err, "val_error": best["val_error"], "cs": per_c,
            "train_size": len(everything), "dims": int(train.shape[1])}
