"""Probe speed: feature-extraction images/s and the L2-SVM on a CIFAR-sized problem.

    .venv/bin/python benchmarks/probe.py            # 50,000 x 28,672 (the paper's CIFAR-10)
    .venv/bin/python benchmarks/probe.py --n 5000   # quicker

Feature extraction runs the paper's ImageNet-32 discriminator (28,672 features per image)
and the 32x32 `dcgan` one (Fashion-MNIST, 1 channel), each against its bare forward pass
measured interleaved in the same run. The SVM part fits one-vs-rest over 10 classes on
synthetic low-rank features (fp32, standardized in place) with C = 1e-3 and reports wall
time and peak resident memory; `--sklearn-n` also times scikit-learn's LinearSVC on the
first rows, interleaved with ours on the same rows (the issue measured LinearSVC at 149 s and
6.4 GB for 10,000 x 28,672 on one core).
"""

from __future__ import annotations

import argparse
import resource
import time

import torch


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def extraction(arch: str, channels: int, batches: int, batch: int) -> None:
    from gantk.contract.registry import get_registry
    from gantk.plugins.evals.lib.features import DiscriminatorFeatures
    from gantk.training.config import make_config

    cfg = make_config({"architecture": arch, "resolution": 32, "channels": channels})
    _, D = get_registry().architecture(arch).build(cfg)
    D.eval()
    extract = DiscriminatorFeatures(D)
    images = torch.randint(0, 256, (batch, channels, 32, 32), dtype=torch.uint8)
    dims = extract(images[:2]).shape[1]
    times = {"features": 0.0, "forward": 0.0}
    for _ in range(batches):  # interleaved: probe features, then the bare forward pass
        t = time.perf_counter()
        extract(images)
        times["features"] += time.perf_counter() - t
        t = time.perf_counter()
        with torch.no_grad():
            D(images.float() / 127.5 - 1)
        times["forward"] += time.perf_counter() - t
    n = batches * batch
    print(f"{arch} ({channels}ch, {dims} features): {n / times['features']:.0f} images/s "
          f"(bare D forward {n / times['forward']:.0f} images/s; ratio "
          f"{times['forward'] / times['features']:.2f})")


def synthetic(n: int, d: int, classes: int = 10, rank: int = 512, seed: int = 0):
    """Features like a conv net's: a power-law spectrum (direction k has scale k^-0.7, as
    correlated ReLU features have) through a ReLU, plus noise; labels from a noisy linear
    rule of the latent factors. Built in chunks."""
    gen = torch.Generator().manual_seed(seed)
    decay = torch.arange(1, rank + 1, dtype=torch.float32) ** -0.7
    basis = torch.randn(rank, d, generator=gen) * decay[:, None]
    rule = torch.randn(rank, classes, generator=gen)
    X = torch.empty(n, d)
    y = torch.empty(n, dtype=torch.long)
    for start in range(0, n, 2048):
        z = torch.randn(min(2048, n - start), rank, generator=gen)
        X[start:start + len(z)] = (z @ basis).relu_() + 0.2 * torch.randn(len(z), d, generator=gen)
        y[start:start + len(z)] = (z @ rule + 2 * torch.randn(len(z), classes,
                                                              generator=gen)).argmax(1)
    return X, y


def standardize_(X: torch.Tensor) -> None:
    mean = torch.zeros(X.shape[1], dtype=torch.float64)
    sq = torch.zeros_like(mean)
    for part in X.split(4096):
        mean += part.sum(0, dtype=torch.float64)
        sq += part.double().pow(2).sum(0)
    mean /= len(X)
    std = (sq / len(X) - mean**2).clamp_min(1e-12).sqrt()
    for part in X.split(4096):
        part.sub_(mean.float()).div_(std.float())


def accuracy(model, X: torch.Tensor, y: torch.Tensor) -> float:
    return float((model.predict(X) == y).float().mean() * 100)


def timed_fit(X: torch.Tensor, y: torch.Tensor, C: float, **kw):
    from gantk.plugins.evals.lib.l2svm import fit_l2svm

    t = time.perf_counter()
    model = fit_l2svm(X, y, C, **kw)
    return model, time.perf_counter() - t


def svm(n: int, d: int, C: float, sklearn_n: int, plain_n: int, test_n: int) -> None:
    t = time.perf_counter()
    X, y = synthetic(n + test_n, d)
    standardize_(X)
    X, y, Xt, yt = X[:n], y[:n], X[n:], y[n:]  # views: no copy
    print(f"synthetic {n} (+{test_n} held out) x {d} fp32 ({X.numel() * 4 / 2**30:.1f} GiB) "
          f"built in {time.perf_counter() - t:.0f} s; peak RSS so far {peak_rss_gb():.1f} GiB")
    if sklearn_n:
        from sklearn.svm import LinearSVC

        Xs, ys = X[:sklearn_n], y[:sklearn_n]
        ours, t_ours = timed_fit(Xs, ys, C)
        t = time.perf_counter()
        sk = LinearSVC(C=C).fit(Xs.numpy(), ys.numpy())
        t_sk = time.perf_counter() - t
        acc_s = float((torch.from_numpy(sk.predict(Xt.numpy())) == yt).float().mean() * 100)
        print(f"{sklearn_n} x {d}: ours {t_ours:.1f} s (held-out acc {accuracy(ours, Xt, yt):.2f}),"
              f" LinearSVC {t_sk:.1f} s (held-out acc {acc_s:.2f}); speed-up "
              f"{t_sk / t_ours:.1f}x; peak RSS {peak_rss_gb():.1f} GiB")
    if plain_n:  # the covariance preconditioner against plain conjugate gradients
        Xs, ys = X[:plain_n], y[:plain_n]
        for pre in (False, True):
            model, wall = timed_fit(Xs, ys, C, precondition=pre)
            print(f"{plain_n} x {d}, {'preconditioned' if pre else 'plain CG':14s}: {wall:6.1f} s, "
                  f"{model.iterations} Newton steps, {model.data_passes} passes over X, "
                  f"held-out acc {accuracy(model, Xt, yt):.2f}", flush=True)
    started = time.perf_counter()
    model, wall = timed_fit(X, y, C, log=lambda m: print(
        f"  {time.perf_counter() - started:6.0f} s  {m}, peak RSS {peak_rss_gb():.1f} GiB",
        flush=True))
    print(f"L2-SVM {n} x {d}, 10 classes, C={C:g}: {wall:.0f} s, {model.iterations} Newton "
          f"steps, {model.data_passes} passes over X, train accuracy {accuracy(model, X, y):.2f}%, "
          f"held-out {accuracy(model, Xt, yt):.2f}%, peak RSS {peak_rss_gb():.1f} GiB, "
          f"{torch.get_num_threads()} threads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=28_672)
    parser.add_argument("--C", type=float, default=1e-3)
    parser.add_argument("--sklearn-n", type=int, default=0,
                        help="also time LinearSVC (and ours) on this many rows")
    parser.add_argument("--plain-n", type=int, default=0,
                        help="also fit this many rows without the preconditioner, and with it")
    parser.add_argument("--test-n", type=int, default=5000, help="held-out rows for accuracy")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--skip-extraction", action="store_true")
    args = parser.parse_args()
    if not args.skip_extraction:
        extraction("dcgan-imagenet32", 3, args.batches, args.batch)
        extraction("dcgan", 1, args.batches, args.batch)
    svm(args.n, args.d, args.C, args.sklearn_n, args.plain_n, args.test_n)


if __name__ == "__main__":
    main()
