"""The training loop: one place for device choice, the GAN step, metrics, samples,
checkpoints, exact resume, NaN stops and clean Ctrl-C."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gantk.atomic import write_text_atomic
from gantk.contract.checks import check_models
from gantk.contract.losses import configured_loss
from gantk.contract.registry import get_registry
from gantk.errors import ConfigError, TrainingError
from gantk.grids import save_grid
from gantk.store import read_metadata
from gantk.training import distributed
from gantk.training.build import build_models
from gantk.training.checkpoint import (
    best_path,
    checkpoint_path,
    latest_checkpoint,
    prune_checkpoints,
    restore,
    save_checkpoint,
)
from gantk.training.config import RunConfig, check_against_registry
from gantk.training.data import EpochBatchSampler, ImageStoreDataset, make_loader, to_model_range
from gantk.training.ema import EmaGenerator
from gantk.training.recovery import apply_hyperparameters, remove_stale_temps, truncate_metrics
from gantk.training.sampling import generate, sample_z
from gantk.training.sinks import Sink, Sinks
from gantk.training.trackers import open_trackers

GRID_SIZE = 64
EVAL_Z_OFFSET = 11  # the fixed latent set of in-training scores is drawn from seed + 11


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


def resolve_config(config: RunConfig, world_size: int = 1) -> RunConfig:
    """Fill what the data decides (resolution, channels, steps) and check the registry.
    `batch_size` is per process: `world_size` processes consume `world_size` batches a step."""
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
    global_batch = config.batch_size * world_size
    if meta["count"] < global_batch:
        raise ConfigError(f"{config.data} holds {meta['count']} images, fewer than one batch of "
                          f"{global_batch}; lower --batch-size")
    if config.steps is None:
        epochs = config.epochs or 1
        per_epoch = meta["count"] // global_batch
        critic = configured_loss(config.loss, config.loss_options).critic_steps
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

    def check(self, world: distributed.World = distributed.World()) -> int | None:
        """The first bad step on any rank (a collective when distributed)."""
        never = torch.iinfo(torch.long).max
        first = torch.where(self.first < 0, torch.full_like(self.first, never), self.first)
        value = int(distributed.min_over_ranks(first, world))
        return value if value != never else None


def choose_amp_dtype(device: torch.device, amp: bool | None,
                     bf16_supported: Callable[[], bool]) -> torch.dtype | None:
    """Autocast on CUDA unless switched off: bf16 where the GPU has it, else fp16 (which
    needs a GradScaler). On CPU never: bf16 autocast is far slower without AVX512-BF16."""
    if device.type != "cuda" or amp is False:
        return None
    return torch.bfloat16 if bf16_supported() else torch.float16


@contextmanager
def frozen(module: torch.nn.Module) -> Iterator[None]:
    """No weight gradients for `module` inside the block (gradients still flow through it
    to its input): the generator step needs D's input gradient, not D's weight gradients."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class Trainer:
    """Trains `config` into `run_dir`. `resume=True` continues from the latest checkpoint."""

    def __init__(self, config: RunConfig, run_dir: Path, resume: bool = False,
                 log: Callable[[str], None] = print, sinks: list[Sink] | None = None):
        # Under torchrun every process builds a Trainer; rank 0 alone writes files.
        self.world = distributed.join()
        self.config = resolve_config(config, self.world.size)
        self.run_dir = Path(run_dir)
        self.log = log if self.world.is_main else _quiet
        self.resume = resume
        self.device = distributed.rank_device(self.config.device, self.world)
        self.cuda = self.device.type == "cuda"
        self.registry = get_registry()
        self.loss = configured_loss(self.config.loss, self.config.loss_options)
        torch.manual_seed(self.config.seed)  # initial weights are a function of the seed
        self.generator, self.discriminator = build_models(self.config)
        self._check_contract()
        self._prepare_run_dir()
        self.sinks = self._open_sinks(sinks or [])
        self._setup_compute()
        self.opt_g = self._adam(self.generator, self.config.lr)
        self.opt_d = self._adam(self.discriminator, self.config.d_lr())
        # EMA of G's weights and buffers, for samples and scores only
        self.ema = (EmaGenerator(self.generator, self.config.ema) if self.config.ema
                    else None)
        self.noise = torch.Generator(device=self.device)
        self.step = 0
        self.best: dict[str, Any] | None = None
        self.last_scores: dict[str, float] = {}
        self._score_memo: dict[Any, Any] = {}  # the feature network and real features
        if self.resume:
            self._restore()
        fixed = torch.Generator().manual_seed(self.config.seed + 7)
        self.fixed_z = sample_z(GRID_SIZE, self.config.nz, self.config.z_dist, fixed,
                                torch.device("cpu")).to(self.device)

    # -- setup ---------------------------------------------------------------------------
    def _check_contract(self) -> None:
        """Once, before anything is written: a model breaking the contract (shapes, range,
        `(N, 1)` logits) fails in one line naming its plugin, not inside a step."""
        cfg = self.config
        owner = self.registry.owner("architecture", cfg.architecture)
        check_models(self.generator, self.discriminator,
                     what=f"architecture {cfg.architecture!r} ({owner.package})",
                     resolution=cfg.resolution, channels=cfg.channels, nz=cfg.nz)

    def _prepare_run_dir(self) -> None:
        has_run = (self.run_dir / "config.json").exists() or latest_checkpoint(self.run_dir)
        if has_run and not self.resume:
            raise ConfigError(f"{self.run_dir} already holds a run; pass --resume to continue "
                              "it or choose another --out")
        if self.resume and not latest_checkpoint(self.run_dir):
            # killed before its first checkpoint: start over with the recorded config
            self.log(f"{self.run_dir} has no checkpoint yet: starting it from step 0")
            self.resume = False
            if self.world.is_main:
                truncate_metrics(self.run_dir / "metrics.jsonl", 0)
        distributed.barrier(self.world)  # every rank has checked before rank 0 writes
        if not self.world.is_main:
            return
        remove_stale_temps(self.run_dir)
        for sub in ("samples", "checkpoints"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.run_dir / "config.json",
                          self.config.model_dump_json(indent=2))

    def _open_sinks(self, extra: list[Sink]) -> Sinks:
        """Rank 0 alone records: metrics.jsonl and the run's trackers (opened once the
        run directory exists), then the caller's own sinks."""
        sinks = Sinks([], self.log)
        if self.world.is_main:
            open_trackers(self.config, self.run_dir, sinks, self.log)
            for sink in extra:
                sinks.add(type(sink).__name__, sink)
        return sinks

    def _setup_compute(self) -> None:
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        # channels-last suits cuDNN and oneDNN alike (measured on CPU: benchmarks/train_step.py)
        self.channels_last = cfg.channels_last if cfg.channels_last is not None else (
            self.device.type in ("cuda", "cpu"))
        self.amp_dtype = choose_amp_dtype(self.device, cfg.amp, torch.cuda.is_bf16_supported)
        if self.cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True  # fp32 leftovers: TF32 tensor cores
        # A disabled scaler is a pass-through: the same calls serve bf16, fp16 and fp32.
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        self.generator.to(self.device, memory_format=memory_format)
        self.discriminator.to(self.device, memory_format=memory_format)
        # DDP replicas share the modules' tensors; samples and checkpoints use the modules.
        self.g_step_model = distributed.replicate(self.generator, self.device, self.world,
                                                  cfg.sync_batchnorm)
        self.d_step_model = distributed.replicate(self.discriminator, self.device, self.world,
                                                  cfg.sync_batchnorm)
        if cfg.compile:
            self.g_step_model = torch.compile(self.g_step_model)
            self.d_step_model = torch.compile(self.d_step_model)

    def _adam(self, module: torch.nn.Module, lr: float) -> torch.optim.Adam:
        """Adam as one fused kernel (on CUDA sync-free with a GradScaler; on CPU faster than
        the for-loop and foreach kernels), multi-tensor where fused is not available."""
        cfg = self.config
        options = {"lr": lr, "betas": (cfg.beta1, cfg.beta2), "weight_decay": cfg.weight_decay}
        try:
            return torch.optim.Adam(module.parameters(), fused=True, **options)
        except RuntimeError:  # a device without fused kernels (or an older torch)
            return torch.optim.Adam(module.parameters(), foreach=True, **options)

    def _extra_modules(self) -> dict[str, torch.nn.Module]:
        return {"ema": self.ema.model} if self.ema else {}

    def _restore(self) -> None:
        path = latest_checkpoint(self.run_dir)
        state, rng = restore(path, self.generator, self.discriminator,
                             {"generator": self.opt_g, "discriminator": self.opt_d},
                             self._extra_modules())
        self.step = state["step"]
        torch.set_rng_state(rng["torch"])
        # the best score so far travels in every checkpoint, so resuming keeps comparing
        # against what an uninterrupted run would
        recorded = state.get("best")
        self.best = recorded if recorded and recorded["metric"] == self.config.best_metric \
            else None
        if self.world.is_main:  # drop metric lines written after that checkpoint
            truncate_metrics(self.run_dir / "metrics.jsonl", self.step)
        self.log(f"resumed from {path} at step {self.step}")
        # `--resume --set lr=…` retunes: the restored optimizers take the new values
        for change in apply_hyperparameters({"generator": self.opt_g,
                                             "discriminator": self.opt_d}, self.config):
            self.log(f"retuned: {change}")

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

    def _reseed_noise(self) -> None:
        """z is a pure function of (seed, rank, step), like the batch order, so a resumed
        run (any number of ranks) draws what an uninterrupted one would have."""
        seq = np.random.SeedSequence([self.config.seed, self.world.rank, self.step])
        self.noise.manual_seed(int(seq.generate_state(1, np.uint64)[0] >> 1))

    def _backward_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()

    def train_step(self, batches: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """`critic_steps` discriminator updates (one real batch each), then one generator
        update reusing the last fake batch, as pytorch/examples and dcgan.torch do."""
        G, D = self.g_step_model, self.d_step_model
        self._reseed_noise()
        for i, images in enumerate(batches):
            real = self._real(images)
            # only the last critic step's fake batch is back-propagated into G
            keep_graph = i == len(batches) - 1
            with self._autocast():
                with nullcontext() if keep_graph else torch.no_grad():
                    fake = G(self._z(real.shape[0]))
                real_logits = D(real)
                fake_logits = D(fake.detach())
                loss_d = self.loss.d_loss(real_logits.float(), fake_logits.float())
                if self.loss.penalty is not None:
                    # the eager module: compiled graphs do not support double backward
                    loss_d = loss_d + self.loss.penalty(self.discriminator, real, fake.detach())
            self.opt_d.zero_grad(set_to_none=True)
            self._backward_step(loss_d, self.opt_d)
        # The generator step needs D's input gradients only: no weight gradients for D
        # (less work) and, under DDP, no all-reduce of them.
        with distributed.no_sync(D), frozen(self.discriminator):
            with self._autocast():
                gen_logits = D(fake)
                loss_g = self._g_loss(gen_logits, D, real)
            self.opt_g.zero_grad(set_to_none=True)
            self._backward_step(loss_g, self.opt_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_x": torch.sigmoid(real_logits.detach().float()).mean(),
                "d_g_z": torch.sigmoid(fake_logits.detach().float()).mean()}

    def _g_loss(self, gen_logits: torch.Tensor, D: Any, real: torch.Tensor) -> torch.Tensor:
        """The generator loss; D's logits on the real batch (after the D update) only for a
        loss that asks for them (relativistic losses)."""
        if not self.loss.needs_real_logits:
            return self.loss.g_loss(gen_logits.float())
        with torch.no_grad():
            real_logits = D(real).float()
        return self.loss.g_loss(gen_logits.float(), real_logits)

    # -- outputs ---------------------------------------------------------------------------
    @property
    def sampler(self) -> torch.nn.Module:
        """The generator samples and scores come from: the EMA one when the run keeps it.
        Sampling normalizes with batch statistics (as dcgan_code did), computed afresh
        for the averaged weights, so the EMA's averaged BatchNorm buffers are not used."""
        return self.ema.generator if self.ema else self.generator

    def save_samples(self, name: str) -> Path:
        images = generate(self.sampler, self.fixed_z)
        path = save_grid(images, self.run_dir / "samples" / f"{name}.png", nrow=8)
        self.sinks.image(self.step, name, path)
        return path

    def save_checkpoint(self) -> Path:
        """Called on every rank (distributed: they hand rank 0 a digest of their weights,
        kept in the checkpoint as proof that the replicas agree); rank 0 writes."""
        path = checkpoint_path(self.run_dir, self.step)
        state = {"step": self.step, "config": json.loads(self.config.model_dump_json()),
                 "time": time.time(), "world_size": self.world.size, "best": self.best}
        if self.world.distributed:
            state["replica_digests"] = distributed.gather(
                distributed.param_digest(self.generator, self.discriminator), self.world)
        if self.world.is_main:
            self._write_checkpoint(path, state)
            prune_checkpoints(self.run_dir, self.config.keep_checkpoints)
        return path

    def _write_checkpoint(self, path: Path, state: dict[str, Any]) -> None:
        save_checkpoint(path, self.generator, self.discriminator,
                        {"generator": self.opt_g, "discriminator": self.opt_d}, state,
                        {"torch": torch.get_rng_state()}, self._extra_modules())

    # -- scores during training ------------------------------------------------------------
    def evaluate(self) -> dict[str, Any]:
        """Score the sampling generator with the run's evals (rank 0 only): on the fixed
        latent set, against cached real features; recorded, logged, and kept as the best
        checkpoint when it improves `best_metric`."""
        from gantk.evaluation.live import score_generator

        cfg = self.config
        if not hasattr(self, "_eval_z"):
            gen = torch.Generator().manual_seed(cfg.seed + EVAL_Z_OFFSET)
            self._eval_z = sample_z(cfg.eval_n, cfg.nz, cfg.z_dist, gen, torch.device("cpu"))
        sampler, device = self.sampler, self.device
        start = time.perf_counter()
        record = score_generator(cfg.scored_evals(), lambda z: generate(sampler, z.to(device)),
                                 self._eval_z, cfg.data, str(device),
                                 {"n": cfg.eval_n, **cfg.eval_options}, seed=0,
                                 lasting=self._score_memo)
        record.update(generator="ema" if self.ema else "raw",
                      seconds=round(time.perf_counter() - start, 3))
        self.sinks.scores(self.step, record)
        self.last_scores = {k: v for k, v in record.items()
                            if k in _SHOWN_SCORES and isinstance(v, float)}
        shown = "  ".join(f"{k} {v:.4g}" for k, v in self.last_scores.items())
        self.log(f"step {self.step}: {shown} ({record.get('n', cfg.eval_n):.0f} images, "
                 f"network {record.get('network', '?')}, {record['seconds']:.1f} s)")
        self._keep_if_best(record)
        return record

    def _keep_if_best(self, record: dict[str, Any]) -> None:
        from gantk.contract.registry import get_registry

        metric = self.config.best_metric
        if not self.config.keeps_best() or metric not in record:
            return
        value = float(record[metric])
        if not math.isfinite(value):
            return
        higher = next(s.higher_is_better for s in get_registry().evals() if metric in s.scores)
        if self.best is not None and not (value > self.best["value"] if higher
                                          else value < self.best["value"]):
            return
        self.best = {"metric": metric, "value": value, "step": self.step,
                     "higher_is_better": higher}
        state = {"step": self.step, "config": json.loads(self.config.model_dump_json()),
                 "time": time.time(), "world_size": self.world.size, "best": self.best}
        self._write_checkpoint(best_path(self.run_dir), state)  # atomic, never pruned
        self.log(f"best {metric} so far: {value:.4g} at step {self.step} -> "
                 f"{best_path(self.run_dir)}")

    # -- the loop --------------------------------------------------------------------------
    def describe(self) -> str:
        """One line saying what is about to be trained, on what, where."""
        cfg = self.config
        procs = f" x {self.world.size} processes" if self.world.distributed else ""
        return (f"training {cfg.architecture} ({cfg.resolution}x{cfg.resolution}x"
                f"{cfg.channels}, loss {cfg.loss}) on {cfg.data} for {cfg.steps} steps of "
                f"batch {cfg.batch_size} on {self.device}{procs}")

    def _batch_groups(self) -> Iterator[list[torch.Tensor]]:
        """`critic_steps` real batches per generator update, resuming the epoch order."""
        cfg, world = self.config, self.world
        critic = self.loss.critic_steps
        dataset = ImageStoreDataset(cfg.data)
        # CPU: loading in the training process (LMDB reads of whole batches run far ahead
        # of the step) leaves every core to the step; GPU: workers feed pinned memory.
        workers = cfg.num_workers if cfg.num_workers is not None else (
            min(8, max(1, (os.cpu_count() or 1) // world.local_size)) if self.cuda else 0)
        sampler = EpochBatchSampler(len(dataset), cfg.batch_size, cfg.seed,
                                    start_step=self.step * critic, rank=world.rank,
                                    world_size=world.size)
        batches = iter(make_loader(dataset, sampler, workers, pin_memory=self.cuda))
        while True:
            yield [next(batches)[0] for _ in range(critic)]

    def fit(self, progress: Callable[[int, int, dict[str, float]], None] | None = None,
            on_metrics: Callable[[dict[str, float]], None] | None = None) -> TrainResult:
        """Train to `config.steps`, logging every `log_every` steps, sampling and
        checkpointing on their schedules; Ctrl-C stops after the current step."""
        cfg, main = self.config, self.world.is_main
        self.sinks.start(cfg, self.step)  # before the clock of the first window starts
        window = _MetricsWindow(cfg.batch_size * self.loss.critic_steps * self.world.size)
        self._watch = NonFiniteWatch(self.device)
        self._last_checkpoint = latest_checkpoint(self.run_dir)
        last: dict[str, float] = {}
        stop = _StopRequest()
        stopping = False
        try:
            groups = self._batch_groups()
            while self.step < cfg.steps and not stopping:
                stats = self.train_step(next(groups))
                if self.ema:
                    self.ema.update(self.generator, self.step)
                self._watch.update(self.step, stats["loss_d"], stats["loss_g"])
                window.add(stats)
                self.step += 1
                # Host syncs (float(), collectives) happen only at these intervals.
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    last = self._log_window(window, on_metrics)
                    # ranks stop together, at a step they all reached
                    stopping = distributed.any_rank(stop.requested, self.world, self.device)
                elif not self.world.distributed:
                    stopping = stop.requested
                self._on_schedule()
                if progress and main:
                    progress(self.step, cfg.steps, {**last, **self.last_scores})
            return self._finish(last, interrupted=stopping)
        finally:
            stop.release()
            self.sinks.close()

    def _log_window(self, window: _MetricsWindow,
                    on_metrics: Callable[[dict[str, float]], None] | None) -> dict[str, float]:
        """Check for NaN, average the window over ranks, append it to metrics.jsonl."""
        self._stop_if_nonfinite()
        record = {"step": self.step, **window.close(self.world)}
        self.sinks.scalars(self.step, record)
        if on_metrics and self.world.is_main:
            on_metrics(record)
        return record

    def _on_schedule(self) -> None:
        """Sample grids and checkpoints at their intervals."""
        cfg = self.config
        if self.step % cfg.sample_every == 0 and self.world.is_main:
            self.save_samples(f"step-{self.step:08d}")
        if cfg.eval_every and self.step % cfg.eval_every == 0 and self.world.is_main:
            self.evaluate()
        if self.step % cfg.checkpoint_every == 0:
            self._stop_if_nonfinite()
            self._last_checkpoint = self.save_checkpoint()

    def _finish(self, last: dict[str, float], interrupted: bool) -> TrainResult:
        """A checkpoint of the final step (unless just written) and the final grid."""
        self._stop_if_nonfinite()
        cfg = self.config
        if (cfg.eval_every and self.step == cfg.steps and self.step % cfg.eval_every
                and self.world.is_main):
            self.evaluate()  # a finished run is always scored at its last step
        if self._last_checkpoint != checkpoint_path(self.run_dir, self.step):
            self._last_checkpoint = self.save_checkpoint()
        grid = self.run_dir / "samples" / "final.png"
        if self.world.is_main:
            self.save_samples("final")
        return TrainResult(self.run_dir, self.step, self._last_checkpoint, grid, last,
                           interrupted)

    def _stop_if_nonfinite(self) -> None:
        bad = self._watch.check(self.world)
        if bad is not None:
            last_good = self._last_checkpoint
            where = str(last_good) if last_good else "none (no checkpoint was written yet)"
            raise TrainingError(f"a loss became NaN/Inf at step {bad + 1}; last good checkpoint: "
                                f"{where}; lower the learning rate or check the data")


class _MetricsWindow:
    """Sums of a step's statistics since the last log line, kept on the device (no host
    sync per step), and the images/s over the window."""

    def __init__(self, images_per_step: int) -> None:
        self.images_per_step = images_per_step
        self._reset()

    def _reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps = 0
        self.start = time.perf_counter()

    def add(self, stats: dict[str, torch.Tensor]) -> None:
        for k, v in stats.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.clone()
        self.steps += 1

    def close(self, world: distributed.World) -> dict[str, float]:
        """The window's means (over steps and ranks) and throughput; starts a new window."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        means = distributed.mean_over_ranks(self.sums, world)
        record = {k: float(v) / self.steps for k, v in means.items()}
        record["images_per_s"] = self.steps * self.images_per_step / elapsed
        self._reset()
        return record


# what the progress line shows of a score record
_SHOWN_SCORES = ("fid", "kid", "precision", "recall", "density", "coverage")


def _quiet(message: str) -> None:
    """The log of ranks other than 0."""


class _StopRequest:
    """Ctrl-C asks the loop to stop after the current step (so the checkpoint written next
    is a consistent one); a second Ctrl-C interrupts at once. SIGTERM (docker stop, Slurm,
    systemd, and torchrun to its workers) is treated alike."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def release(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}
