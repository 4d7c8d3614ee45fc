"""The training loop: one place for device choice, the GAN step, metrics, samples,
checkpoints, exact resume, NaN stops and clean Ctrl-C."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gantk.atomic import write_text_atomic
from gantk.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    prune_checkpoints,
    restore,
    save_checkpoint,
)
from gantk.config import RunConfig, check_against_registry
from gantk.data import EpochBatchSampler, ImageStoreDataset, make_loader, to_model_range
from gantk.device import resolve_device
from gantk.errors import ConfigError, TrainingError
from gantk.images import save_grid
from gantk.registry import get_registry
from gantk.sampling import generate, sample_z
from gantk.store import read_metadata

GRID_SIZE = 64


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    checkpoint: Path
    final_grid: Path
    metrics: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False

    def written(self) -> dict[str, Path]:
        return {"run": self.run_dir, "config": self.run_dir / "config.json",
                "metrics": self.run_dir / "metrics.jsonl", "samples": self.final_grid,
                "checkpoint": self.checkpoint}


def resolve_config(config: RunConfig) -> RunConfig:
    """Fill what the data decides (resolution, channels, steps) and check the registry."""
    if config.data is None:
        raise ConfigError("no training data: pass --data STORE")
    meta = read_metadata(config.data)
    updates: dict[str, Any] = {}
    if config.resolution is None:
        updates["resolution"] = meta["resolution"]
    elif config.resolution != meta["resolution"]:
        raise ConfigError(f"{config.data} holds {meta['resolution']}x{meta['resolution']} images "
                          f"but resolution {config.resolution} was asked for; ingest at that "
                          "size or drop the resolution setting")
    if config.channels is None:
        updates["channels"] = meta["channels"]
    elif config.channels != meta["channels"]:
        raise ConfigError(f"{config.data} holds {meta['channels']}-channel images but channels "
                          f"{config.channels} was asked for")
    config = config.model_copy(update=updates)
    check_against_registry(config)
    if meta["count"] < config.batch_size:
        raise ConfigError(f"{config.data} holds {meta['count']} images, fewer than one batch of "
                          f"{config.batch_size}; lower --batch-size")
    if config.steps is None:
        epochs = config.epochs or 1
        per_epoch = meta["count"] // config.batch_size
        critic = get_registry().loss(config.loss).critic_steps
        config = config.model_copy(update={"steps": max(1, math.ceil(epochs * per_epoch / critic))})
    return config


class NonFiniteWatch:
    """Remembers the first step whose losses were NaN/Inf without a host sync per step."""

    def __init__(self, device: torch.device):
        self.first = torch.full((), -1, dtype=torch.long, device=device)

    def update(self, step: int, *losses: torch.Tensor) -> None:
        bad = ~torch.isfinite(torch.stack([x.detach().float() for x in losses])).all()
        self.first = torch.where(bad & (self.first < 0), torch.full_like(self.first, step),
                                 self.first)

    def check(self) -> int | None:
        value = int(self.first)
        return value if value >= 0 else None


class Trainer:
    """Trains `config` into `run_dir`. `resume=True` continues from the latest checkpoint."""

    def __init__(self, config: RunConfig, run_dir: Path, resume: bool = False,
                 log: Callable[[str], None] = print):
        self.config = resolve_config(config)
        self.run_dir = Path(run_dir)
        self.log = log
        self.resume = resume
        self.device = resolve_device(self.config.device)
        self.cuda = self.device.type == "cuda"
        self.registry = get_registry()
        self.loss = self.registry.loss(self.config.loss)
        torch.manual_seed(self.config.seed)  # initial weights are a function of the seed
        self.generator, self.discriminator = self.registry.architecture(
            self.config.architecture).build(self.config)
        self._prepare_run_dir()
        self._setup_compute()
        betas = (self.config.beta1, self.config.beta2)
        fused = self.cuda
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.config.lr, betas=betas,
                                      weight_decay=self.config.weight_decay, fused=fused or None,
                                      foreach=None if fused else True)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.config.d_lr(),
                                      betas=betas, weight_decay=self.config.weight_decay,
                                      fused=fused or None, foreach=None if fused else True)
        self.noise = torch.Generator(device=self.device).manual_seed(self.config.seed)
        self.step = 0
        if resume:
            self._restore()
        fixed = torch.Generator().manual_seed(self.config.seed + 7)
        self.fixed_z = sample_z(GRID_SIZE, self.config.nz, self.config.z_dist, fixed,
                                torch.device("cpu")).to(self.device)

    # -- setup ---------------------------------------------------------------------------
    def _prepare_run_dir(self) -> None:
        has_run = (self.run_dir / "config.json").exists() or latest_checkpoint(self.run_dir)
        if has_run and not self.resume:
            raise ConfigError(f"{self.run_dir} already holds a run; pass --resume to continue "
                              "it or choose another --out")
        if self.resume and not latest_checkpoint(self.run_dir):
            raise ConfigError(f"--resume: {self.run_dir} has no checkpoint to resume from")
        for sub in ("samples", "checkpoints"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.run_dir / "config.json",
                          self.config.model_dump_json(indent=2))

    def _setup_compute(self) -> None:
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.channels_last = cfg.channels_last if cfg.channels_last is not None else self.cuda
        self.amp_dtype: torch.dtype | None = None
        if self.cuda and cfg.amp is not False:
            torch.backends.cudnn.benchmark = True
            self.amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported()
                              else torch.float16)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        self.generator.to(self.device, memory_format=memory_format)
        self.discriminator.to(self.device, memory_format=memory_format)
        self.g_step_model = self.generator
        self.d_step_model = self.discriminator
        if cfg.compile:
            self.g_step_model = torch.compile(self.generator)
            self.d_step_model = torch.compile(self.discriminator)

    def _restore(self) -> None:
        path = latest_checkpoint(self.run_dir)
        state, rng = restore(path, self.generator, self.discriminator,
                             {"generator": self.opt_g, "discriminator": self.opt_d})
        self.step = state["step"]
        torch.set_rng_state(rng["torch"])
        self.noise.set_state(rng["noise"].to(self.noise.get_state().device))
        self._truncate_metrics(self.step)
        self.log(f"resumed from {path} at step {self.step}")

    def _truncate_metrics(self, step: int) -> None:
        """Drop metric lines written after the checkpoint we resume from."""
        path = self.run_dir / "metrics.jsonl"
        if path.exists():
            kept = [ln for ln in path.read_text().splitlines()
                    if ln.strip() and json.loads(ln)["step"] <= step]
            write_text_atomic(path, "".join(ln + "\n" for ln in kept))

    # -- pieces of a step ----------------------------------------------------------------
    def _autocast(self) -> Any:
        if self.amp_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast("cuda", dtype=self.amp_dtype)

    def _real(self, images: torch.Tensor) -> torch.Tensor:
        real = to_model_range(images.to(self.device, non_blocking=True))
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        return real

    def _z(self, n: int) -> torch.Tensor:
        return sample_z(n, self.config.nz, self.config.z_dist, self.noise, self.device)

    def _backward_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()

    def train_step(self, batches: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """`critic_steps` discriminator updates (one real batch each), then one generator
        update reusing the last fake batch, as pytorch/examples and dcgan.torch do."""
        G, D = self.g_step_model, self.d_step_model
        for images in batches:
            real = self._real(images)
            with self._autocast():
                fake = G(self._z(real.shape[0]))
                real_logits = D(real)
                fake_logits = D(fake.detach())
                loss_d = self.loss.d_loss(real_logits.float(), fake_logits.float())
                if self.loss.penalty is not None:
                    # the eager module: compiled graphs do not support double backward
                    loss_d = loss_d + self.loss.penalty(self.discriminator, real, fake.detach())
            self.opt_d.zero_grad(set_to_none=True)
            self._backward_step(loss_d, self.opt_d)
        with self._autocast():
            gen_logits = D(fake)
            loss_g = self.loss.g_loss(gen_logits.float())
        self.opt_g.zero_grad(set_to_none=True)
        self._backward_step(loss_g, self.opt_g)
        # D's gradients from the generator step are discarded by the next zero_grad.
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_x": torch.sigmoid(real_logits.detach().float()).mean(),
                "d_g_z": torch.sigmoid(fake_logits.detach().float()).mean()}

    # -- outputs ---------------------------------------------------------------------------
    def save_samples(self, name: str) -> Path:
        images = generate(self.generator, self.fixed_z)
        return save_grid(images, self.run_dir / "samples" / f"{name}.png", nrow=8)

    def save_checkpoint(self) -> Path:
        rng = {"torch": torch.get_rng_state(), "noise": self.noise.get_state()}
        state = {"step": self.step, "config": json.loads(self.config.model_dump_json()),
                 "time": time.time()}
        path = save_checkpoint(checkpoint_path(self.run_dir, self.step), self.generator,
                               self.discriminator,
                               {"generator": self.opt_g, "discriminator": self.opt_d}, state, rng)
        prune_checkpoints(self.run_dir, self.config.keep_checkpoints)
        return path

    # -- the loop --------------------------------------------------------------------------
    def fit(self, progress: Callable[[int, int, dict[str, float]], None] | None = None,
            on_metrics: Callable[[dict[str, float]], None] | None = None) -> TrainResult:
        cfg = self.config
        total = cfg.steps
        critic = self.loss.critic_steps
        dataset = ImageStoreDataset(cfg.data)
        workers = cfg.num_workers if cfg.num_workers is not None else (
            min(8, os.cpu_count() or 1) if self.cuda else 0)
        sampler = EpochBatchSampler(len(dataset), cfg.batch_size, cfg.seed,
                                    start_step=self.step * critic)
        batches = iter(make_loader(dataset, sampler, workers, pin_memory=self.cuda))
        watch = NonFiniteWatch(self.device)
        sums: dict[str, torch.Tensor] = {}
        window_start, window_steps = time.perf_counter(), 0
        last_checkpoint = latest_checkpoint(self.run_dir)
        last: dict[str, float] = {}
        metrics_file = open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        stop = _StopRequest()
        try:
            while self.step < total and not stop.requested:
                group = [next(batches)[0] for _ in range(critic)]
                stats = self.train_step(group)
                watch.update(self.step, stats["loss_d"], stats["loss_g"])
                for k, v in stats.items():
                    sums[k] = sums[k] + v if k in sums else v.clone()
                self.step += 1
                window_steps += 1
                if self.step % cfg.log_every == 0 or self.step == total:
                    self._stop_if_nonfinite(watch, last_checkpoint)
                    elapsed = max(time.perf_counter() - window_start, 1e-9)
                    last = {"step": self.step,
                            **{k: float(v) / window_steps for k, v in sums.items()},
                            "images_per_s": window_steps * critic * cfg.batch_size / elapsed}
                    metrics_file.write(json.dumps(last) + "\n")
                    metrics_file.flush()
                    if on_metrics:
                        on_metrics(last)
                    sums, window_start, window_steps = {}, time.perf_counter(), 0
                if progress:
                    progress(self.step, total, last)
                if self.step % cfg.sample_every == 0:
                    self.save_samples(f"step-{self.step:08d}")
                if self.step % cfg.checkpoint_every == 0:
                    self._stop_if_nonfinite(watch, last_checkpoint)
                    last_checkpoint = self.save_checkpoint()
        finally:
            metrics_file.close()
            stop.release()
        interrupted = stop.requested
        self._stop_if_nonfinite(watch, last_checkpoint)
        if last_checkpoint != checkpoint_path(self.run_dir, self.step):
            last_checkpoint = self.save_checkpoint()
        grid = self.save_samples("final")
        return TrainResult(self.run_dir, self.step, last_checkpoint, grid, last, interrupted)

    def _stop_if_nonfinite(self, watch: NonFiniteWatch, last_good: Path | None) -> None:
        bad = watch.check()
        if bad is not None:
            where = str(last_good) if last_good else "none (no checkpoint was written yet)"
            raise TrainingError(f"a loss became NaN/Inf at step {bad + 1}; last good checkpoint: "
                                f"{where}; lower the learning rate or check the data")


class _StopRequest:
    """Ctrl-C asks the loop to stop after the current step (so the checkpoint written next
    is a consistent one); a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def release(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
