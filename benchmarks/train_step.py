"""How fast is gantk's training step on this CPU?

Measures images/s of `Trainer.train_step` against a reference step written the way
pytorch/examples dcgan/main.py writes it (same architecture, Sigmoid + BCELoss, zero_grad,
separate backward calls, plain Adam), interleaved round by round so that load from other
processes hits both alike, and prints the ratio. It also prints each step as a fraction
of the measured fp32 matmul throughput (FLOPs of one step counted with
`torch.utils.flop_counter.FlopCounterMode`) and the data loader's throughput against
what the step consumes.

    python benchmarks/train_step.py                       # 64x64 and 32x32, batch 64 and 128
    python benchmarks/train_step.py --sizes 32 --batches 128 --rounds 8
    python benchmarks/train_step.py --arch dcgan --channels 1 --sizes 32 --batches 128  # demo
    python benchmarks/train_step.py --candidate "nchw:channels_last=false"

Each `--candidate "LABEL:key=value,key=value"` is a gantk config variant measured in the
same interleaved rounds (levers: channels_last, compile, threads, ...).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import gantk.training.trainer as trainer_module
from gantk.store import ImageStoreWriter
from gantk.training.config import make_config, parse_options
from gantk.training.data import EpochBatchSampler, ImageStoreDataset, make_loader
from gantk.training.trainer import Trainer

NZ, NGF, NDF = 100, 64, 64


# -- the reference: pytorch/examples dcgan/main.py, generalised from 64x64 to 2**k -------
def _examples_weights_init(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.constant_(m.bias, 0)


def reference_models(resolution: int, nc: int) -> tuple[nn.Module, nn.Module]:
    n = int(np.log2(resolution)) - 2  # stride-2 layers after the 4x4 start (64 -> 4)
    widths = [NGF * 2 ** (n - 1 - i) for i in range(n)]
    g: list[nn.Module] = [nn.ConvTranspose2d(NZ, widths[0], 4, 1, 0, bias=False),
                          nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
    for a, b in zip(widths, widths[1:]):
        g += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
    g += [nn.ConvTranspose2d(widths[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
    d: list[nn.Module] = []
    cin = nc
    for i in range(n):
        cout = NDF * 2**i
        d.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=False))
        if i > 0:
            d.append(nn.BatchNorm2d(cout))
        d.append(nn.LeakyReLU(0.2, inplace=True))
        cin = cout
    d += [nn.Conv2d(cin, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    netG, netD = nn.Sequential(*g), nn.Sequential(*d)
    netG.apply(_examples_weights_init)
    netD.apply(_examples_weights_init)
    return netG, netD


def registry_models(arch: str, resolution: int, nc: int) -> tuple[nn.Module, nn.Module]:
    """Another architecture's G and D from the registry, D ending in a Sigmoid as main.py's."""
    from gantk.contract.registry import get_registry

    config = make_config({"architecture": arch, "resolution": resolution, "channels": nc})
    netG, netD = get_registry().architecture(arch).build(config)
    return _FlatZ(netG), nn.Sequential(netD, nn.Sigmoid())


class _FlatZ(nn.Module):
    """main.py draws z as (N, nz, 1, 1); gantk generators take (N, nz)."""

    def __init__(self, g: nn.Module):
        super().__init__()
        self.g = g

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.g(z.flatten(1))


class ReferenceStep:
    """One iteration of pytorch/examples dcgan/main.py's loop body (its own models for
    `dcgan-pytorch`, the registry's models for other architectures)."""

    def __init__(self, arch: str, resolution: int, nc: int, batch: int):
        torch.manual_seed(0)
        self.netG, self.netD = (reference_models(resolution, nc) if arch == "dcgan-pytorch"
                                else registry_models(arch, resolution, nc))
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.real = torch.rand(batch, nc, resolution, resolution) * 2 - 1

    def __call__(self) -> None:
        netD, netG, criterion = self.netD, self.netG, self.criterion
        real_cpu = self.real
        batch_size = real_cpu.size(0)
        netD.zero_grad()
        label = torch.full((batch_size,), 1.0, dtype=real_cpu.dtype)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()  # noqa: F841  (main.py logs these every step)
        noise = torch.randn(batch_size, NZ, 1, 1)
        fake = netG(noise)
        label.fill_(0.0)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()  # noqa: F841
        self.optimizerD.step()
        netG.zero_grad()
        label.fill_(1.0)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()  # noqa: F841
        self.optimizerG.step()


# -- gantk's step ----------------------------------------------------------------------------
def make_store(path: Path, resolution: int, nc: int, count: int) -> Path:
    rng = np.random.default_rng(0)
    with ImageStoreWriter(path, resolution, nc, source="benchmark", batch_size=256) as writer:
        for i in range(count):
            writer.add(rng.integers(0, 256, (resolution, resolution, nc), dtype=np.uint8),
                       None, f"bench/{i}")
    return path


ADAM_KERNELS = {"plain": {"foreach": False}, "foreach": {"foreach": True},
                "fused": {"fused": True}}


class GantkStep:
    """`Trainer.train_step` on one fixed uint8 batch. Benchmark-only levers in the
    overrides: `adam=plain|foreach|fused` swaps the optimizers' kernel; `freeze_d=false`
    lets the generator step compute D's weight gradients too (the Foundation's step)."""

    def __init__(self, store: Path, run_dir: Path, arch: str, batch: int, overrides: dict):
        overrides = dict(overrides)
        adam = overrides.pop("adam", None)
        self.freeze_d = overrides.pop("freeze_d", True)
        config = make_config({"architecture": arch, "data": str(store), "batch_size": batch,
                              "steps": 10**9, "device": "cpu", "seed": 0}, overrides)
        self.trainer = t = Trainer(config, run_dir, log=lambda m: None)
        if adam:
            for name, module in (("opt_g", t.generator), ("opt_d", t.discriminator)):
                old = getattr(t, name)
                setattr(t, name, torch.optim.Adam(module.parameters(), **{
                    k: old.defaults[k] for k in ("lr", "betas", "weight_decay")},
                    **ADAM_KERNELS[adam]))
        dataset = ImageStoreDataset(store)
        self.batch = dataset.__getitems__(list(range(batch)))[0]

    def __call__(self) -> None:
        if self.freeze_d:
            self.trainer.train_step([self.batch])
            return
        frozen, trainer_module.frozen = trainer_module.frozen, lambda m: nullcontext()
        try:
            self.trainer.train_step([self.batch])
        finally:
            trainer_module.frozen = frozen


def step_flops(step: Callable[[], None]) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def matmul_rate(n: int = 1024, reps: int = 12) -> float:
    """Measured fp32 matmul FLOP/s right now (the practical limit of this CPU)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def time_steps(step: Callable[[], None], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n


def loader_rate(store: Path, batch: int, seconds: float = 1.5) -> float:
    """Images/s the trainer's CPU loader (no workers) delivers from the store."""
    dataset = ImageStoreDataset(store)
    loader = iter(make_loader(dataset, EpochBatchSampler(len(dataset), batch, 0), 0, False))
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        n += next(loader)[0].shape[0]
    return n / (time.perf_counter() - t0)


def parse_candidate(text: str) -> tuple[str, dict]:
    label, _, rest = text.partition(":")
    pairs = [p for p in rest.split(",") if p]
    options = parse_options(pairs)
    layer: dict = {}
    for key, value in options.items():
        if key.startswith("model."):
            layer.setdefault("model", {})[key[6:]] = value
        else:
            layer[key] = value
    return label, layer


def bench_case(args: argparse.Namespace, resolution: int, batch: int, work: Path) -> dict:
    store = make_store(work / f"store-{resolution}-{batch}", resolution, args.channels,
                       batch * 4)
    steps: dict[str, Callable[[], None]] = {
        "reference": ReferenceStep(args.arch, resolution, args.channels, batch)}
    for label, layer in [("gantk", {}), *map(parse_candidate, args.candidate)]:
        steps[label] = GantkStep(store, work / f"run-{resolution}-{batch}-{label}",
                                 args.arch, batch, layer)
    flops = {label: step_flops(step) for label, step in steps.items()}
    for step in steps.values():  # warm-up (allocator, oneDNN primitive caches, compile)
        for _ in range(args.warmup):
            step()
    times: dict[str, list[float]] = {label: [] for label in steps}
    limits = []
    for _ in range(args.rounds):
        limits.append(matmul_rate())
        for label, step in steps.items():
            times[label].append(time_steps(step, args.steps_per_round))
    limit = statistics.median(limits)
    ref = times["reference"]
    result = {"resolution": resolution, "batch": batch, "matmul_gflops": limit / 1e9,
              "loader_img_s": loader_rate(store, batch), "rows": {}}
    for label, ts in times.items():
        ratios = [r / t for r, t in zip(ref, ts)]
        per_step = statistics.median(ts)
        # each round's step against the matmul rate measured just before it
        fractions = [flops[label] / t / rate for t, rate in zip(ts, limits)]
        result["rows"][label] = {
            "img_s": batch / per_step,
            "ratio": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios),
            "gflop_per_step": flops[label] / 1e9,
            "pct_limit": 100 * statistics.median(fractions),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="dcgan-pytorch")
    parser.add_argument("--sizes", default="64,32")
    parser.add_argument("--batches", default="64,128")
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps-per-round", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--candidate", action="append", default=[],
                        help='extra gantk variant "LABEL:key=value,..." (e.g. '
                             '"nchw:channels_last=false")')
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average "
          f"{' '.join(load)} before the run; arch {args.arch}, {args.channels} channels")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for resolution in map(int, args.sizes.split(",")):
            for batch in map(int, args.batches.split(",")):
                res = bench_case(args, resolution, batch, Path(tmp))
                results.append(res)
                rows = res["rows"]
                step_rate = rows["gantk"]["img_s"]
                print(f"\n{resolution}x{resolution} batch {batch}: matmul limit "
                      f"{res['matmul_gflops']:.0f} GFLOP/s; loader {res['loader_img_s']:.0f} "
                      f"img/s = {res['loader_img_s'] / step_rate:.0f}x the gantk step")
                print(f"  {'step':<14}{'img/s':>8}{'vs ref':>8}{'(min-max)':>14}"
                      f"{'GFLOP/step':>12}{'% limit':>9}")
                for label, row in rows.items():
                    print(f"  {label:<14}{row['img_s']:>8.1f}{row['ratio']:>8.2f}"
                          f"{row['ratio_min']:>7.2f}-{row['ratio_max']:<6.2f}"
                          f"{row['gflop_per_step']:>12.2f}{row['pct_limit']:>8.0f}%")
    with open("/proc/loadavg") as fh:
        print(f"\nload average after the run: {' '.join(fh.read().split()[:3])}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
