"""What a run directory needs after a kill, a power loss or a retune, before training goes
on: stale temp files removed, a torn metrics line dropped, the optimizer given the
hyper-parameters the user asked for this time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from gantk.atomic import write_text_atomic
from gantk.training.config import RunConfig

# What `--resume --set` may retune: config key -> Adam param_group key (per optimizer)
RETUNABLE = ("lr", "lr_d", "beta1", "beta2", "weight_decay")


def remove_stale_temps(run_dir: Path) -> list[Path]:
    """Delete the `.NAME.*.tmp` files a killed atomic write left (checkpoints can be tens
    of MB each). Only safe while holding the run's lock: no other writer is mid-write."""
    removed = []
    for folder in (run_dir, run_dir / "checkpoints", run_dir / "samples"):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl; a torn line (power loss, full disk) is skipped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    return records


def truncate_metrics(path: Path, step: int) -> None:
    """Keep only the whole metric lines of steps up to `step` (the checkpoint resumed)."""
    if path.exists():
        kept = [r for r in read_metrics(path) if r["step"] <= step]
        write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))


def apply_hyperparameters(optimizers: dict[str, torch.optim.Optimizer],
                          config: RunConfig) -> list[str]:
    """Give restored Adam optimizers the config's lr/betas/weight decay (a checkpoint
    restores the old ones); returns `name key old -> new` for each value that changed."""
    wanted = {"generator": config.lr, "discriminator": config.d_lr()}
    changes = []
    for name, opt in optimizers.items():
        target = {"lr": wanted[name], "betas": (config.beta1, config.beta2),
                  "weight_decay": config.weight_decay}
        for group in opt.param_groups:
            for key, value in target.items():
                old = tuple(group[key]) if key == "betas" else group[key]
                if old != value:
                    changes.append(f"{name} {key} {old} -> {value}")
                    group[key] = value
    return sorted(set(changes))
