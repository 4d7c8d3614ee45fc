"""The fast paths of de-duplication's training give the answers of the plain ones:
separable warps equal grid sampling, and the convergence rule stops on a plateau.
(Hashing in worker processes and the step bounds are tested in test_dedup.py, beside the
trained model they share.)"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_separable_affine_equals_grid_sample():
    """The matrix form of a shift-and-zoom warp is grid_sample's bilinear border sampling."""
    import torch.nn.functional as F

    from gantk.datasets.dedup.corruption import affine

    gen = torch.Generator().manual_seed(0)
    x = torch.rand((16, 3, 32, 32), generator=gen, dtype=torch.float64) * 255
    params = torch.stack([1 + 0.3 * (2 * torch.rand(16, generator=gen) - 1),
                          *(0.4 * (2 * torch.rand((2, 16), generator=gen) - 1))], 1).double()
    theta = torch.zeros(16, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = theta[:, 1, 1] = params[:, 0]
    theta[:, :, 2] = params[:, 1:]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    want = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    assert torch.allclose(affine(x, params), want, atol=1e-9)


def test_training_normalization_is_the_hashing_one():
    """The fast torch normalization of training batches equals crops.normalize (float64,
    what codes are computed from), flat images included (their std floor)."""
    from gantk.datasets.dedup.corruption import normalize_batch
    from gantk.datasets.dedup.crops import normalize

    crops = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    crops[0] = 77  # flat
    crops[1] = crops[1] // 64 + 100  # low contrast: under the floor
    nchw = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
    for how in ("image", "none"):
        want = torch.from_numpy(normalize(crops, how)).float()
        assert torch.allclose(normalize_batch(nchw, how), want, atol=1e-5)


def test_blur_keeps_flat_images_flat():
    from gantk.datasets.dedup.corruption import blur_matrices

    rows = blur_matrices(torch.tensor([0.0, 0.3, 0.5, 2.0]), 32)
    assert torch.allclose(rows.sum(dim=2), torch.ones(4, 32))  # weights sum to one


def test_convergence_stops_when_the_budget_left_would_add_little():
    """The rule itself: the slope over the later half of the checks (at least `window`),
    plus half its standard error, times the steps left, against `tolerance`: a plateau
    stops, a climb with a long budget left goes on, the same climb near the end of its
    budget stops, and a long climb that paused briefly goes on."""
    from gantk.datasets.dedup.autoencoder import HashAutoencoder
    from gantk.datasets.dedup.convergence import StabilityProbe

    crops = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    plateau = StabilityProbe.from_crops(crops, "nearcopy", "image", 0, "cpu", window=3)
    net = HashAutoencoder()
    first = plateau.agreement(net)
    assert [plateau.record(s, net, 10_000) for s in (100, 200, 300)] == [False, False, True]
    assert plateau.history == [(s, round(first, 5)) for s in (100, 200, 300)]

    def climbing(budget: int) -> bool:  # +0.01 per check, then `net`'s agreement at 300
        probe = StabilityProbe(plateau.clean, plateau.corrupted, window=3, tolerance=0.01)
        probe.history = [(100, first - 0.02), (200, first - 0.01)]
        return probe.record(300, net, budget)

    assert not climbing(10_000)  # 9,700 steps left at 0.01 per 100: keep going
    assert climbing(350)  # 50 steps left: 0.005 more at most, under 0.01: stop
    # a long climb that paused for its last 3 checks: judged on the later half (5 checks)
    paused = StabilityProbe(plateau.clean, plateau.corrupted, window=3, tolerance=0.01)
    paused.history = [(100 * k, first - 0.002 * (9 - k)) for k in range(1, 10)] + [
        (1000, first)]
    assert not paused.record(1100, net, 10_000)


class _InLine:
    """A stand-in executor that runs each task at once, in the calling thread."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        from concurrent.futures import Future

        done: Future = Future()
        done.set_result(fn(*args))
        return done


def test_batches_on_a_second_thread_change_nothing(monkeypatch):
    """Training with the next batch made on another thread gives, parameter for parameter,
    the model of making each batch in line: same batches, same order, same draws."""
    from gantk.datasets.dedup import train

    crops = np.random.default_rng(0).integers(0, 256, (300, 32, 32, 3), dtype=np.uint8)

    def fit():
        net = train._fit(crops, torch.device("cpu"), seed=3, batch_size=32, lr=1e-3,
                         noise=0.2, dropout=0.2, epochs=1, min_steps=0, max_steps=25,
                         converge=False, normalization="image", corruption="nearcopy",
                         stability=5.0, margin=1.0, progress=None)[0]
        return [p.detach().clone() for p in net.parameters()]

    threaded = fit()
    monkeypatch.setattr(train, "ThreadPoolExecutor", _InLine)
    in_line = fit()
    assert all(torch.equal(a, b) for a, b in zip(threaded, in_line, strict=True))
