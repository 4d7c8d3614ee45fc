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
    from gantk.config import make_config
    from gantk.plugins.evals.features import DiscriminatorFeatures
    from gantk.registry import get_registry

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


def synthetic(n: int, d: int, classes: int = 10, rank: int = 64, seed: int = 0):
    """Low-rank features plus noise with labels from a noisy linear rule; built in chunks."""
    gen = torch.Generator().manual_seed(seed)
    basis = torch.randn(rank, d, generator=gen) / rank**0.5
    rule = torch.randn(rank, classes, generator=gen)
    X = torch.empty(n, d)
    y = torch.empty(n, dtype=torch.long)
    for start in range(0, n, 2048):
        z = torch.randn(min(2048, n - start), rank, generator=gen)
        X[start:start + len(z)] = (z @ basis).relu_() + 0.3 * torch.randn(len(z), d, generator=gen)
        y[start:start + len(z)] = (z @ rule + torch.randn(len(z), classes, generator=gen)).argmax(1)
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


def svm(n: int, d: int, C: float, sklearn_n: int) -> None:
    from gantk.plugins.evals.l2svm import fit_l2svm

    t = time.perf_counter()
    X, y = synthetic(n, d)
    standardize_(X)
    print(f"synthetic {n} x {d} fp32 ({X.numel() * 4 / 2**30:.1f} GiB) built in "
          f"{time.perf_counter() - t:.0f} s; peak RSS so far {peak_rss_gb():.1f} GiB")
    if sklearn_n:
        from sklearn.svm import LinearSVC

        Xs, ys = X[:sklearn_n], y[:sklearn_n]
        t = time.perf_counter()
        ours = fit_l2svm(Xs, ys, C)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        sk = LinearSVC(C=C).fit(Xs.numpy(), ys.numpy())
        t_sk = time.perf_counter() - t
        acc_o = float((ours.predict(Xs) == ys).float().mean() * 100)
        acc_s = float((torch.from_numpy(sk.predict(Xs.numpy())) == ys).float().mean() * 100)
        print(f"{sklearn_n} x {d}: ours {t_ours:.1f} s (train acc {acc_o:.2f}), LinearSVC "
              f"{t_sk:.1f} s (train acc {acc_s:.2f}); speed-up {t_sk / t_ours:.1f}x; peak RSS "
              f"{peak_rss_gb():.1f} GiB")
    t = time.perf_counter()
    model = fit_l2svm(X, y, C, log=lambda m: print(f"  {time.perf_counter() - t:6.0f} s  {m}, "
                                                   f"peak RSS {peak_rss_gb():.1f} GiB",
                                                   flush=True))
    wall = time.perf_counter() - t
    acc = float((model.predict(X) == y).float().mean() * 100)
    print(f"L2-SVM {n} x {d}, 10 classes, C={C:g}: {wall:.0f} s, {model.iterations} Newton "
          f"steps, {model.data_passes} passes over X, train accuracy {acc:.2f}%, peak RSS "
          f"{peak_rss_gb():.1f} GiB, {torch.get_num_threads()} threads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=28_672)
    parser.add_argument("--C", type=float, default=1e-3)
    parser.add_argument("--sklearn-n", type=int, default=0)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--skip-extraction", action="store_true")
    args = parser.parse_args()
    if not args.skip_extraction:
        extraction("dcgan-imagenet32", 3, args.batches, args.batch)
        extraction("dcgan", 1, args.batches, args.batch)
    svm(args.n, args.d, args.C, args.sklearn_n)


if __name__ == "__main__":
    main()
