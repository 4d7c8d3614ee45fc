"""Finding and loading trained runs: the resolved config plus the latest weights."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import ValidationError

from gantk.errors import ConfigError, StoreError
from gantk.home import runs_dir
from gantk.training.checkpoint import (
    best_path,
    checkpoint_path,
    has_weights,
    latest_checkpoint,
    list_checkpoints,
    load_weights,
    read_checkpoint,
)
from gantk.training.config import RunConfig, problems_text


@dataclass
class TrainedRun:
    """A run loaded for evaluation: models in eval mode on the chosen device."""

    run_dir: Path
    config: RunConfig
    generator: torch.nn.Module
    discriminator: torch.nn.Module
    step: int
    checkpoint: Path
    generator_kind: str = "raw"  # "ema": the generator holds the EMA weights

    def sample_z(self, n: int, seed: int = 0) -> torch.Tensor:
        from gantk.training.sampling import sample_z

        gen = torch.Generator().manual_seed(seed)
        return sample_z(n, self.config.nz, self.config.z_dist, gen, torch.device("cpu")).to(
            next(self.generator.parameters()).device)


def read_run_config(run_dir: str | os.PathLike[str]) -> RunConfig:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise StoreError(f"{run_dir} is not a gantk run (no config.json); pass a directory "
                         "written by `gantk run`")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        return RunConfig(**raw)
    except ValidationError as exc:
        raise StoreError(f"{path} does not describe a gantk run ({problems_text(exc)}); fix or "
                         "remove the named keys, or start a new run with --out NEW_DIR") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path} is damaged (not JSON: {exc}); restore it from the newest "
                         "checkpoint's header (its 'config') or start a new run with "
                         "--out NEW_DIR") from None


def run_checkpoint(run_dir: str | os.PathLike[str], step: int | str | None) -> Path | None:
    """The checkpoint `-o step=…` names: None (the latest), "best", or a step number."""
    if step is None or step == "latest":
        return None
    if step == "best":
        path = best_path(run_dir)
        if not path.is_file():
            raise ConfigError(f"step=best: {run_dir} has no best checkpoint; train with "
                              "--set eval_every=N to keep one (best by fid)")
        return path
    try:
        number = int(step)
    except (TypeError, ValueError):
        raise ConfigError(f"step must be a step number, best or latest (got {step!r})") from None
    path = checkpoint_path(Path(run_dir), number)
    if not path.is_file():
        have = ", ".join(str(int(p.stem.split("-")[1])) for p in list_checkpoints(run_dir))
        raise ConfigError(f"{run_dir} has no checkpoint at step {number}; steps saved: "
                          f"{have or 'none'}")
    return path


def load_run(run_dir: str | os.PathLike[str], device: str | torch.device = "cpu",
             checkpoint: Path | None = None, generator: str | None = None) -> TrainedRun:
    """Rebuild the run's architecture from the registry and load its latest checkpoint.
    `generator` picks the weights that generate: "ema", "raw", or None (the EMA
    generator where the checkpoint has one, else the raw one)."""
    from gantk.training.build import build_models

    if generator not in (None, "ema", "raw"):
        raise ConfigError(f"generator must be ema or raw (got {generator!r})")
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    checkpoint = checkpoint or latest_checkpoint(run_dir)
    if checkpoint is None:
        raise StoreError(f"{run_dir} has no checkpoint yet; train it with `gantk run`")
    header, tensors = read_checkpoint(checkpoint)
    has_ema = has_weights(tensors, "ema.module")
    if generator == "ema" and not has_ema:
        raise ConfigError(f"generator=ema: {checkpoint} holds no EMA generator (the run was "
                          "trained with ema=0); use generator=raw")
    kind = "ema" if has_ema and generator != "raw" else "raw"
    g_net, discriminator = build_models(config)
    load_weights(g_net, "ema.module" if kind == "ema" else "generator", tensors, checkpoint)
    load_weights(discriminator, "discriminator", tensors, checkpoint)
    device = torch.device(device)
    g_net.to(device).eval()
    discriminator.to(device).eval()
    return TrainedRun(run_dir, config, g_net, discriminator, header["state"]["step"],
                      checkpoint, kind)


def newest_run(preset: str | None = None) -> Path | None:
    """The most recently modified run directory (of `preset`, if given)."""
    root = runs_dir()
    if not root.is_dir():
        return None
    candidates = []
    for d in root.iterdir():
        cfg = d / "config.json"
        if not cfg.is_file():
            continue
        if preset is None or _recorded_preset(cfg) == preset:
            candidates.append((cfg.stat().st_mtime, d))
    return max(candidates)[1] if candidates else None


def _recorded_preset(config_file: Path) -> str | None:
    """The preset a config.json names; None for a damaged one (it is not "the newest")."""
    try:
        raw = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw.get("preset") if isinstance(raw, dict) else None
