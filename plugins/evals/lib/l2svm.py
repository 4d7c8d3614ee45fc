"""A linear L2-SVM (squared hinge, L2 penalty, one-vs-rest) solved in the primal with torch.

Same objective as scikit-learn's `LinearSVC(loss="squared_hinge", penalty="l2")` (liblinear
`-s 1/-s 2`, intercept as a constant feature of value 1 that is also regularized):

    min_{w,b}  1/2 (|w|^2 + b^2) + C sum_i max(0, 1 - y_i (w.x_i + b))^2,  y_i in {-1, +1}

Why not LinearSVC itself: liblinear copies the feature matrix to float64 and uses one core,
so the paper's CIFAR-10 probe (50,000 x 28,672) would need ~32 GB. Here the matrix stays
fp32 and is never copied; all classes are solved at once by truncated Newton (conjugate
gradients on the generalized Hessian, as liblinear's primal solver does), so every pass over
the data is one `(N, D) x (D, K)` product that uses all cores. The line search works on the
cached margins `X w`, so it costs no extra pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from gantk.plugins.evals.lib.svm_precond import CovariancePreconditioner


@dataclass
class L2SVM:
    """A fitted one-vs-rest L2-SVM: `decision(X) = X @ weight + bias`, classes in order."""

    weight: torch.Tensor  # (D, K) float32
    bias: torch.Tensor  # (K,) float32
    classes: torch.Tensor  # (K,) int64 labels, or (2,) for a binary problem with K = 1
    iterations: int = 0
    data_passes: int = 0

    def decision(self, X: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, X, self.weight)

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        scores = self.decision(X)
        if self.weight.shape[1] == 1:
            return self.classes[(scores[:, 0] > 0).long()]
        return self.classes[scores.argmax(1)]


def _targets(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    classes = torch.unique(y)
    if len(classes) < 2:
        raise ValueError(f"an SVM needs at least two classes, got {classes.tolist()}")
    if len(classes) == 2:  # one classifier, as LinearSVC does for binary problems
        Y = torch.where(y == classes[1], 1.0, -1.0).unsqueeze(1)
    else:
        Y = torch.where(y.unsqueeze(1) == classes.unsqueeze(0), 1.0, -1.0)
    return Y.float(), classes


def objective(X: torch.Tensor, Y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
              C: float) -> torch.Tensor:
    """The primal objective per class, `(K,)` (float64 for comparisons in tests)."""
    z = torch.addmm(bias, X, weight).double()
    hinge = (1 - Y.double() * z).clamp_min(0)
    reg = 0.5 * (weight.double().pow(2).sum(0) + bias.double().pow(2))
    return reg + C * hinge.pow(2).sum(0)


# Below this many multiply-adds per pass, thread start-up and spin-waiting cost more than
# they save (3-40x slower with 2 threads on a busy 2-core machine): solve on one thread.
SMALL_PASS = 100_000_000


@contextlib.contextmanager
def _threads_for(work: int) -> Iterator[None]:
    before = torch.get_num_threads()
    if work < SMALL_PASS and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_l2svm(X: torch.Tensor, y: torch.Tensor, C: float, tol: float = 0.01,
              max_iter: int = 50, cg_tol: float = 0.2, max_cg: int = 100,
              init: L2SVM | None = None,
              precondition: bool | CovariancePreconditioner | None = None,
              log: Callable[[str], None] | None = None) -> L2SVM:
    """Fit on `X` `(N, D)` float32 (used in place, never copied) and labels `y` `(N,)`.

    Stops when every class's gradient norm is below `tol * max(min(#pos, #neg), 1) / N`
    times its norm at w = 0: liblinear's criterion and default for its primal solvers
    (1e-3 for ten balanced classes). `init` warm-starts from another fit (e.g. a smaller C).
    `precondition` (default: when X has more than PRECONDITION_ROWS rows) estimates the
    feature covariance from a row sample to speed up the Newton steps' conjugate gradients;
    pass a CovariancePreconditioner to reuse one estimate across fits. Each Newton step
    solves its system to `cg_tol` relative residual (0.2 took the fewest passes over X on
    benchmarks/probe.py's features among 0.05-0.5).
    """
    if X.dtype != torch.float32:
        raise ValueError(f"X must be float32, got {X.dtype}")
    Y, classes = _targets(y.to(X.device))
    n, d = X.shape
    with _threads_for(n * d * Y.shape[1]):
        if 2 * n < d and n <= KERNEL_MAX_ROWS and init is None:
            return _fit_in_row_space(X, Y, classes, C, tol, max_iter, cg_tol, max_cg, log)
        if isinstance(precondition, CovariancePreconditioner):
            precond = precondition
        elif precondition or (precondition is None and n > PRECONDITION_ROWS):
            precond = CovariancePreconditioner.from_rows(X)
        else:
            precond = None
        return _newton(X, Y, classes, C, tol, max_iter, cg_tol, max_cg, init, log,
                       precond=precond)


KERNEL_MAX_ROWS = 4096
PRECONDITION_ROWS = 8192


def preconditioner_for(X: torch.Tensor) -> CovariancePreconditioner | None:
    """The preconditioner fit_l2svm would build for X (None below PRECONDITION_ROWS), to
    share between fits on X's rows."""
    return CovariancePreconditioner.from_rows(X) if len(X) > PRECONDITION_ROWS else None


def _fit_in_row_space(X, Y, classes, C, tol, max_iter, cg_tol, max_cg, log) -> L2SVM:
    """Few rows, many features (the 1000-label probe): the same problem in N dimensions.

    The optimum (w, b) lies in the span of the rows of [X, 1]. With G = X X^T + 1 = U S U^T
    and features L = U S^(1/2), a bias-free solution v gives w = X^T beta, b = sum(beta),
    beta = U S^(-1/2) v, with identical margins (L v = G beta) and norm (|v| = |(w, b)|).
    One Gram product replaces ~100 narrow passes over X.
    """
    G = (X @ X.T).double() + 1.0
    vals, vecs = torch.linalg.eigh(G)
    keep = vals > vals.max() * 1e-10
    vals, vecs = vals[keep], vecs[:, keep]
    L = (vecs * vals.sqrt()).float()
    inner = _newton(L, Y, classes, C, tol, max_iter, cg_tol, max_cg, None, log, intercept=False)
    beta = ((vecs / vals.sqrt()) @ inner.weight.double()).float()
    return L2SVM(_xt(X, beta), beta.sum(0), classes, inner.iterations, inner.data_passes + 1)


def _newton(X, Y, classes, C, tol, max_iter, cg_tol, max_cg, init, log,
            intercept: bool = True, precond: CovariancePreconditioner | None = None) -> L2SVM:
    Y = Y.to(X.device)
    s = 1.0 if intercept else 0.0  # 0: no bias term (it stays 0)
    n, d = X.shape
    k = Y.shape[1]
    twoC = 2.0 * C
    W = torch.zeros(d, k) if init is None else init.weight.clone()
    b = torch.zeros(k) if init is None else init.bias.clone()
    W, b = W.to(X.device), b.to(X.device)
    passes = 0

    def gradient(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        nonlocal passes
        margin = 1 - Y * z
        active = (margin > 0).float()
        r = active * Y * margin  # (N, K)
        passes += 1
        return W - twoC * _xt(X, r), s * (b - twoC * r.sum(0)), active

    def hess_vec(V: torch.Tensor, vb: torch.Tensor, active: torch.Tensor):
        """H v, and X v (kept: the line search needs X d, the sum of CG's X p's)."""
        nonlocal passes
        xtu, xv = _hessian_products(X, V, vb, active)
        passes += 1 if _blocked(X) else 2
        return V + twoC * xtu, s * (vb + twoC * (active * xv).sum(0)), xv

    positives = (Y > 0).sum(0)
    balance = torch.minimum(positives, n - positives).clamp_min(1) / n
    # Reference gradient norm at w = 0: there every margin is 1, so r = Y.
    g0 = torch.sqrt((twoC * _xt(X, Y)).pow(2).sum(0) + (s * twoC * Y.sum(0)).pow(2))
    passes += 1
    z = torch.addmm(b, X, W) if init is not None else torch.zeros(n, k, device=X.device)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - `it` is reported
        gW, gb, active = gradient(z)
        gnorm = torch.sqrt(gW.pow(2).sum(0) + gb.pow(2))
        todo = gnorm > tol * balance * g0
        if log:
            log(f"newton {it}: max |g|/|g0| = {float((gnorm / g0).max()):.2e} (stops below "
                f"{float((tol * balance).min()):.1e})")
        if not bool(todo.any()):
            break
        # (Preconditioned) conjugate gradients on H d = -g, all classes at once (finished
        # columns frozen); M^-1 approximates H^-1 with the active rows' count per class.
        scale = twoC * active.sum(0)
        dW, db, zd = torch.zeros_like(W), torch.zeros_like(b), torch.zeros_like(z)
        rW, rb = -gW * todo, -gb * todo
        pW, pb = _apply(precond, rW, rb, scale, s)
        rz = (rW * pW).sum(0) + rb * pb
        rr = rW.pow(2).sum(0) + rb.pow(2)
        stop = (cg_tol * gnorm) ** 2
        for _ in range(max_cg):
            live = rr > stop
            if not bool(live.any()):
                break
            HpW, Hpb, Xp = hess_vec(pW, pb, active)
            pHp = (pW * HpW).sum(0) + pb * Hpb
            alpha = torch.where(live, rz / pHp.clamp_min(1e-30), torch.zeros_like(rz))
            dW += alpha * pW
            db += alpha * pb
            zd += alpha * Xp  # X d accumulated on the way: the line search needs no pass
            rW -= alpha * HpW
            rb -= alpha * Hpb
            zW, zb = _apply(precond, rW, rb, scale, s)
            rz_new = (rW * zW).sum(0) + rb * zb
            beta = torch.where(live, rz_new / rz.clamp_min(1e-30), torch.zeros_like(rz))
            pW = zW + beta * pW
            pb = zb + beta * pb
            rz = rz_new
            rr = rW.pow(2).sum(0) + rb.pow(2)
        # Backtracking (Armijo) line search on the cached margins: no pass over X.
        step = _line_search(Y, z, zd, W, b, dW, db, gW, gb, C)
        W += step * dW
        b += step * db
        z += step * zd
    return L2SVM(W, b, classes, it, passes)


BLOCK_ROWS = 64  # rows per block: 64 x 28,672 fp32 (7 MB) stays in cache between products
PAD_COLUMNS = 16  # MKL's skinny products run ~1.3x faster with 16 columns than with 10


def _hessian_products(X: torch.Tensor, V: torch.Tensor, vb: torch.Tensor,
                      active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`(X^T (active * xv), xv)` with `xv = X V + vb`, reading X once.

    On CPU, row blocks small enough to stay in cache serve both products (measured on an
    idle 2-core machine at 50,000 x 28,672: 1.4-1.7x faster than two whole-matrix
    products, which read X from memory twice); elsewhere, two whole-matrix products."""
    n, d = X.shape
    if not _blocked(X):
        xv = torch.addmm(vb, X, V)
        return _xt(X, active * xv), xv
    k = V.shape[1]
    wide = -(-k // PAD_COLUMNS) * PAD_COLUMNS
    Vp = torch.zeros(d, wide, dtype=V.dtype)
    Vp[:, :k] = V
    bp = torch.zeros(wide, dtype=vb.dtype)
    bp[:k] = vb
    xv = torch.empty(n, k, dtype=V.dtype)
    acc = torch.zeros(wide, d, dtype=V.dtype)
    u = torch.zeros(BLOCK_ROWS, wide, dtype=V.dtype)
    for start in range(0, n, BLOCK_ROWS):
        block = X[start:start + BLOCK_ROWS]
        rows = len(block)
        out = torch.addmm(bp, block, Vp)[:, :k]
        xv[start:start + rows] = out
        torch.mul(active[start:start + rows], out, out=u[:rows, :k])
        acc.addmm_(u[:rows].T, block)
    return acc[:k].T, xv


def _blocked(X: torch.Tensor) -> bool:
    return X.device.type == "cpu" and len(X) >= 8 * BLOCK_ROWS


def _apply(precond: CovariancePreconditioner | None, RW: torch.Tensor, Rb: torch.Tensor,
           scale: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """M^-1 r for the weights and the bias (whose Hessian diagonal is 1 + 2C |A|, or 1
    when there is no bias: s = 0)."""
    if precond is None:
        return RW, Rb
    return precond.solve(RW, scale), Rb / (1 + s * scale)


def _xt(X: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """`X.T @ R` computed as `(R.T @ X).T`: reads X row by row, ~6x faster on CPU."""
    return torch.mm(R.T.contiguous(), X).T


def _line_search(Y, z, zd, W, b, dW, db, gW, gb, C, eta: float = 0.01,
                 steps: int = 20) -> torch.Tensor:
    """The largest step in 1, 1/2, 1/4, ... with sufficient decrease, per class."""
    alphas = 0.5 ** torch.arange(steps, dtype=z.dtype, device=z.device)  # (S,)
    ww, wd, dd = W.pow(2).sum(0) + b.pow(2), (W * dW).sum(0) + b * db, dW.pow(2).sum(0) + db.pow(2)
    f0 = 0.5 * ww + C * (1 - Y * z).clamp_min(0).pow(2).sum(0)
    slope = (gW * dW).sum(0) + gb * db  # directional derivative (< 0 for a descent step)
    best = torch.zeros_like(f0)
    found = torch.zeros_like(f0, dtype=torch.bool)
    for a in alphas:
        f = 0.5 * (ww + 2 * a * wd + a * a * dd) + C * (1 - Y * (z + a * zd)).clamp_min(0).pow(
            2).sum(0)
        ok = (f <= f0 + eta * a * slope) & ~found
        best = torch.where(ok, a, best)
        found |= ok
        if bool(found.all()):
            break
    return best
