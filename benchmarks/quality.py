"""Sample quality in the same wall-clock time: `gantk run dcgan` vs a pytorch/examples DCGAN.

Both train on Fashion-MNIST 32x32 (the demo store, the train split) for the same budget,
in interleaved slices (gantk resumes exactly between its slices), so that load from other
processes hits both alike. The reference is pytorch/examples dcgan/main.py's model and
loop body (4x4 kernels, N(0,1) z, ngf = ndf = 64, batch 128, BCE, plain Adam; borrowed
from benchmarks/train_step.py) fed from the same store. Both are then scored with the same
feature network and N against the test split: FID and KID (KID is unbiased, so it is the
fairer of the two at small N), for gantk's trained G (the default) and the EMA generator
kept beside it (the EMA lever; `--set ema=0` drops that row).

    .venv/bin/python benchmarks/quality.py                    # 5 minutes each, N = 2,000
    .venv/bin/python benchmarks/quality.py --minutes 2 --n 500 --slices 4
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_step import ReferenceStep  # noqa: E402  (the pytorch/examples loop body)

from gantk.evaluation.live import score_generator  # noqa: E402
from gantk.training.config import make_config  # noqa: E402
from gantk.training.data import ImageStoreDataset, to_model_range  # noqa: E402
from gantk.training.runs import load_run  # noqa: E402
from gantk.training.sampling import generate, sample_z  # noqa: E402
from gantk.training.trainer import Trainer  # noqa: E402

BATCH = 128


def stores(root: Path) -> tuple[Path, Path]:
    """The demo store (train split) and a test-split store of Fashion-MNIST, 32x32."""
    from gantk.contract.registry import get_registry
    from gantk.ingest.demo_data import default_store
    from gantk.ingest.engine import ingest
    from gantk.store import is_store

    train = default_store()
    test = root / "fashion-mnist-test"
    if not is_store(test):
        src = get_registry().dataset("fashion-mnist").default_path()
        ingest("fashion-mnist", src, test, options={"split": "test"})
    return train, test


def _interrupt_after(seconds: float) -> threading.Timer:
    """Ctrl-C (SIGINT) after `seconds`: the trainer stops after the current step."""
    timer = threading.Timer(seconds, signal.raise_signal, (signal.SIGINT,))
    timer.start()
    return timer


class GantkSide:
    """`gantk run dcgan`'s configuration, trained in slices that resume exactly."""

    def __init__(self, data: Path, run_dir: Path, overrides: dict) -> None:
        from gantk.contract.registry import get_registry

        # the preset as `gantk run dcgan --data STORE` composes it; the budget ends it. An
        # EMA generator is kept beside (it does not change the training), so that one run
        # scores both the trained G (the default) and the EMA lever.
        self.config = make_config(get_registry().preset("dcgan").config, {
            "preset": "dcgan", "data": str(data), "steps": 10**7, "log_every": 50,
            "sample_every": 10**6, "checkpoint_every": 10**6, "device": "cpu",
            "ema": 0.999}, overrides)
        self.run_dir, self.seconds, self.steps = run_dir, 0.0, 0

    def train(self, seconds: float) -> None:
        trainer = Trainer(self.config, self.run_dir, resume=self.steps > 0, log=lambda m: None)
        timer = _interrupt_after(seconds)
        start = time.perf_counter()
        try:
            result = trainer.fit()
        finally:
            timer.cancel()
        self.seconds += time.perf_counter() - start
        self.steps = result.step


class ReferenceSide:
    """pytorch/examples dcgan/main.py: shuffled batches of 128, its loop body per batch."""

    def __init__(self, data: Path) -> None:
        self.step = ReferenceStep("dcgan-pytorch", 32, 1, BATCH)
        # the dataset reads whole batches (__getitems__), already collated
        loader = torch.utils.data.DataLoader(ImageStoreDataset(data), batch_size=BATCH,
                                             shuffle=True, drop_last=True,
                                             collate_fn=lambda batch: batch,
                                             generator=torch.Generator().manual_seed(0))
        self.loader, self.batches = loader, iter(())
        self.seconds, self.steps = 0.0, 0

    def _next(self) -> torch.Tensor:
        try:
            return next(self.batches)[0]
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)[0]

    def train(self, seconds: float) -> None:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            self.step.real = to_model_range(self._next())
            self.step()
            self.steps += 1
        self.seconds += time.perf_counter() - start


def score(names: list[str], g: torch.nn.Module, z: torch.Tensor, test: Path, options: dict,
          lasting: dict) -> dict:
    start = time.perf_counter()
    record = score_generator(names, lambda zb: generate(g, zb), z, test, "cpu", options,
                             lasting=lasting)
    record["seconds"] = time.perf_counter() - start
    return record


class _FlatZ(torch.nn.Module):
    """main.py's G takes z as (N, nz, 1, 1)."""

    def __init__(self, g: torch.nn.Module) -> None:
        super().__init__()
        self.g = g

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.g(z.view(len(z), -1, 1, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="training budget of each")
    ap.add_argument("--slices", type=int, default=5, help="interleaved slices per side")
    ap.add_argument("--n", type=int, default=2000, help="images scored per model")
    ap.add_argument("--network", default="fid-helper", help="feature network (or PATH)")
    ap.add_argument("--set", action="append", default=[], help="gantk config key=value")
    ap.add_argument("--work", type=Path, default=None, help="keep the runs here")
    args = ap.parse_args()

    from gantk.training.config import parse_overrides

    work = args.work or Path(tempfile.mkdtemp(prefix="gantk-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    train, test = stores(work)
    ours = GantkSide(train, work / time.strftime("gantk-dcgan-%Y%m%d-%H%M%S"),
                     parse_overrides(args.set))
    ref = ReferenceSide(train)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}; {args.minutes} min each in {args.slices} slices")
    slice_s = args.minutes * 60 / args.slices
    for i in range(args.slices):
        ours.train(slice_s)
        ref.train(slice_s)
        print(f"slice {i + 1}/{args.slices}: gantk {ours.steps} steps, reference "
              f"{ref.steps} steps", flush=True)
    names, options = ["fid", "kid"], {"n": args.n, "network": args.network,
                                      "subsets": 50, "subset_size": min(1000, args.n)}
    lasting: dict = {}
    rows = []
    for generator in ("raw", "ema") if ours.config.ema else ("raw",):
        run = load_run(ours.run_dir, generator=generator)
        z = run.sample_z(args.n, seed=1)
        label = "gantk dcgan" if generator == "raw" else "gantk dcgan, EMA G"
        rows.append((label, ours, score(names, run.generator, z, test, options, lasting)))
    ref_g = _FlatZ(ref.step.netG)
    z = sample_z(args.n, 100, "normal", torch.Generator().manual_seed(1), torch.device("cpu"))
    rows.append(("pytorch/examples DCGAN", ref, score(names, ref_g, z, test, options, lasting)))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; network "
          f"{rows[0][2].get('network')}, N = {rows[0][2]['n']:.0f} vs the test split")
    base = rows[-1][2]
    print(f"{'model':<28}{'steps':>7}{'img/s':>8}{'FID':>9}{'KID':>9}{'FID/ref':>9}"
          f"{'KID/ref':>9}")
    for label, side, rec in rows:
        print(f"{label:<28}{side.steps:>7}{side.steps * BATCH / side.seconds:>8.1f}"
              f"{rec['fid']:>9.2f}{rec['kid']:>9.4f}{rec['fid'] / base['fid']:>9.3f}"
              f"{rec['kid'] / base['kid']:>9.3f}")
    print(f"(runs under {work})")


if __name__ == "__main__":
    main()
