"""The k-means probe row's encoder (Coates & Ng triangle features, 4 quadrant sums): where
its time goes, and its quadrant pooling against the strided pooling gantk used before.

    .venv/bin/python benchmarks/kmeans_encode.py [--k 1200] [--images 256] [--chunk 32]

On random 32x32 grey images and random centroids (the cost does not depend on the
values): images/s of the whole encoder, then per chunk the distance GEMM, the triangle
activation and the two poolings (best of 5), the old one as the reference in the same
run. The two poolings are checked equal (float32 rounding).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from gantk.plugins.evals.lib.kmeans import KMeansFeatures


def best_ms(fn: Callable[[], object], rounds: int = 5) -> float:
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def strided_pooling(f: torch.Tensor, half: int) -> torch.Tensor:
    """The reference: one strided sum over both axes of each quadrant."""
    quads = [f[:, :half, :half], f[:, :half, half:], f[:, half:, :half], f[:, half:, half:]]
    return torch.cat([q.sum((1, 2)) for q in quads], 1)


def rows_then_columns(f: torch.Tensor, half: int) -> torch.Tensor:
    """What gantk does now (gantk.plugins.evals.lib.kmeans)."""
    top, bottom = f[:, :half].sum(1), f[:, half:].sum(1)
    return torch.cat([q.sum(1) for q in (top[:, :half], top[:, half:], bottom[:, :half],
                                         bottom[:, half:])], 1)


def triangle(z: torch.Tensor) -> torch.Tensor:
    """The encoder's in-place activation on squared distances."""
    z.clamp_min_(0).sqrt_()
    return torch.sub(z.mean(1, keepdim=True), z, out=z).clamp_min_(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=1200, help="centroids (kmeans-4800: 1200)")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--chunk", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(0)
    rf, dim = 6, 36
    encode = KMeansFeatures(torch.zeros(dim), torch.eye(dim), torch.randn(args.k, dim),
                            rf=rf, chunk=args.chunk)
    images = torch.randint(0, 256, (args.images, 1, 32, 32), dtype=torch.uint8)
    ms = best_ms(lambda: encode(images), rounds=3)
    print(f"encoder: {args.images / ms * 1000:.1f} images/s "
          f"({torch.get_num_threads()} threads, k={args.k}, chunk {args.chunk})")
    side, n = 32 - rf + 1, args.chunk
    patches = torch.randn(n * side * side, dim)
    z = torch.addmm(encode.c2, patches, encode.centroids.T, alpha=-2)
    f = z.clamp_min(0).reshape(n, side, side, -1)
    half = round(side / 2)
    assert torch.allclose(strided_pooling(f, half), rows_then_columns(f, half), rtol=1e-4)
    rows = {
        "distances (addmm)": lambda: torch.addmm(encode.c2, patches, encode.centroids.T,
                                                 alpha=-2),
        "triangle, in place as the encoder (plus one copy)": lambda: triangle(z.clone()),
        "pooling, strided (before)": lambda: strided_pooling(f, half),
        "pooling, rows then columns (now)": lambda: rows_then_columns(f, half),
    }
    for name, fn in rows.items():
        print(f"  {name}: {best_ms(fn):.1f} ms per chunk of {n}")


if __name__ == "__main__":
    main()
