"""Fitting the hash model on a sample of a store's 32x32 center crops."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gantk.datasets.dedup import settings as S
from gantk.datasets.dedup.crops import NORMALIZATIONS, normalize
from gantk.datasets.dedup.sample import iter_crops, sample_indices
from gantk.errors import GantkError
from gantk.store import ImageStore

Progress = Callable[[int, int | None], None]
# Chosen on benchmarks/dedup_training_length.py (see docs/dedup.md): a floor of steps, and
# for small stores a ceiling that training reaches only while its codes still improve.
SMALL_STORE_STEPS = 2000
# A 128-image batch of a 3072-128 model is too small to split across threads: on two
# cores shared with other work, two threads made a step 3.5x slower than one
# (benchmarks/dedup_train_step.py, docs/dedup.md). Training on the CPU uses one.
TRAIN_THREADS = 1


def train_hash_model(store: Path, out_dir: Path, *, sample: int | None = S.SAMPLE.default,
                     epochs: int = S.EPOCHS.default, seed: int = S.SEED.default,
                     device: str = S.DEVICE.default,
                     progress: Progress | None = None, batch_size: int = 128,
                     lr: float = 1e-3, noise: float = 0.2, dropout: float = 0.2,
                     min_steps: int = S.MIN_STEPS.default,
                     max_steps: int | None = S.MAX_STEPS.default,
                     converge: bool = S.CONVERGE.default,
                     normalization: str = "image",
                     corruption: str = "nearcopy", stability: float = 5.0,
                     margin: float = 1.0, crop: float = 1.0) -> Path:
    """Train the 3072-128-3072 autoencoder on `sample` images of `store`; save to `out_dir`.

    Trains at most `max_steps` updates (default: `epochs` passes over the sample, or
    SMALL_STORE_STEPS if that is more) and at least `min_steps` (or all `max_steps`, if
    fewer); with `converge` it stops in between once the rest of the budget would no
    longer make the codes of a fixed probe set noticeably more stable under corruption
    (gantk.datasets.dedup.convergence), so a small store stops after a thousand-odd steps
    and a large one, still improving, trains through most of its epochs.
    `converge=False` runs all `max_steps`.
    `stability` weighs a bit-stability term (our addition; 0 gives the paper's plain
    denoising objective): corrupted inputs should land on the same side of 0, by `margin`,
    as the clean ones. Returns `out_dir`.
    """
    import torch

    from gantk.datasets.dedup.autoencoder import CODE_BITS, save_hash_model
    from gantk.datasets.dedup.corruption import CORRUPTIONS
    from gantk.training.device import resolve_device

    if normalization not in NORMALIZATIONS:
        raise GantkError(f"unknown normalization {normalization!r}; use one of "
                         f"{', '.join(NORMALIZATIONS)}")
    if corruption not in CORRUPTIONS:
        raise GantkError(f"unknown corruption {corruption!r}; use one of "
                         f"{', '.join(CORRUPTIONS)}")
    if not 0 < crop <= 1:
        raise GantkError(f"crop must be in (0, 1], got {crop}")
    reader = ImageStore(store)
    if reader.count == 0:
        raise GantkError(f"{store} holds no images; nothing to train a hash model on")
    started = time.perf_counter()
    indices = sample_indices(reader.count, sample, seed)
    crops = np.concatenate([c for _, c in iter_crops(reader, indices, crop=crop)])
    dev = resolve_device(device)
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(TRAIN_THREADS)
    try:
        net, steps, budget, losses, probe, per_epoch = _fit(
            crops, dev, seed=seed, batch_size=batch_size, lr=lr, noise=noise, dropout=dropout,
            epochs=epochs, min_steps=min_steps, max_steps=max_steps, converge=converge,
            normalization=normalization, corruption=corruption, stability=stability,
            margin=margin, progress=progress)
    finally:
        torch.set_num_threads(threads)
    net.eval()
    rates = _bit_rates(net, crops, normalization, dev)
    config = {
        "inputs": net.encoder.in_features, "code_bits": CODE_BITS, "input_size": 32,
        "normalization": normalization, "corruption": corruption, "stability": stability,
        "margin": margin, "crop": crop, "noise": noise, "dropout": dropout,
        "trained_on": str(Path(store).resolve()),
        "store_fingerprint": reader.meta.get("fingerprint"),
        "sample": int(len(crops)), "epochs": epochs, "steps": steps, "budget": budget,
        "min_steps": min_steps, "converge": converge,
        "code_stability": probe.history, "batch_size": batch_size,
        "lr": lr, "seed": seed, "device": str(dev),
        "final_loss": float(np.mean(losses[-per_epoch:])),
        "bit_rates": [round(float(r), 4) for r in rates],
        "bits_used": int(((rates > 0.005) & (rates < 0.995)).sum()),
        "code_entropy_bits": float(_entropy(rates).sum()),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return save_hash_model(net.cpu(), Path(out_dir), config)


def _fit(crops: np.ndarray, dev, *, seed: int, batch_size: int, lr: float, noise: float,
         dropout: float, epochs: int, min_steps: int, max_steps: int | None, converge: bool,
         normalization: str, corruption: str, stability: float, margin: float,
         progress: Progress | None):
    """The training loop: returns the net, steps run, the budget, losses, the stability
    probe (its history) and the steps per epoch."""
    import torch

    from gantk.datasets.dedup.autoencoder import HashAutoencoder
    from gantk.datasets.dedup.convergence import (
        CHECK_EVERY,
        JUDGE_AFTER_EPOCHS,
        StabilityProbe,
    )
    from gantk.datasets.dedup.corruption import corrupt_pair

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 2)
    rng = np.random.default_rng(seed + 1)
    net = HashAutoencoder(noise=noise, dropout=dropout).to(dev)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    per_epoch = math.ceil(len(crops) / batch_size)
    budget = max(epochs * per_epoch, SMALL_STORE_STEPS) if max_steps is None else max_steps
    if budget < 1 or min_steps < 0:
        raise GantkError(f"max_steps must be positive and min_steps 0 or more, got "
                         f"{budget} and {min_steps}")
    # a plateau is judged only once the sample has been seen JUDGE_AFTER_EPOCHS times
    stop_floor = min(max(min_steps, JUDGE_AFTER_EPOCHS * per_epoch), budget)
    probe = StabilityProbe.from_crops(crops, corruption, normalization, seed, dev)
    order = np.empty(0, np.int64)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        nonlocal order
        if len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(len(crops))])
        batch, order = order[:batch_size], order[batch_size:]
        return corrupt_pair(torch.from_numpy(crops[batch]).to(dev), corruption,
                            normalization, generator)

    losses: list[float] = []
    net.train()
    steps = 0
    # The next batch is drawn and corrupted on a second thread while this one trains
    # (torch releases the GIL): the same batches in the same order, so the same model,
    # in ~15% less wall time per step on two cores (docs/dedup.md).
    with ThreadPoolExecutor(1, thread_name_prefix="gantk-dedup-batch") as batches:
        upcoming = batches.submit(next_batch)
        while steps < budget:
            x, target = upcoming.result()
            upcoming = batches.submit(next_batch)
            loss = torch.nn.functional.mse_loss(net(x), target)
            if stability > 0:
                loss = loss + stability * net.stability_loss(x, target, margin)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            steps += 1
            if progress and (steps % 50 == 1 or steps == budget):
                progress(steps, budget)
            at_check = steps % CHECK_EVERY == 0 or steps == budget
            if at_check and probe.record(steps, net, budget) and converge \
                    and steps >= stop_floor:
                break
    if progress:
        progress(budget, budget)
    return net, steps, budget, losses, probe, per_epoch


def _bit_rates(net, crops: np.ndarray, normalization: str, dev) -> np.ndarray:
    """How often each code bit fires on the training sample (0 or 1: a wasted bit)."""
    ones = np.zeros(128, np.int64)
    for start in range(0, len(crops), 1024):
        packed = net.bits(normalize(crops[start:start + 1024], normalization), dev)
        ones += np.unpackbits(packed, axis=1).sum(axis=0, dtype=np.int64)
    return ones / max(len(crops), 1)


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
