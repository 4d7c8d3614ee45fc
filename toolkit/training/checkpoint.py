"""Checkpoints: one safetensors file per step holding weights, optimizer tensors and RNG
states, with the plain-data trainer state (step, config, optimizer hyper-parameters) in
its JSON header. Written atomically; loading never unpickles anything."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save

from gantk.atomic import atomic_path
from gantk.errors import StoreError, disk_error

FORMAT = "gantk-checkpoint/1"
_NAME = re.compile(r"step-(\d+)\.safetensors$")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return run_dir / "checkpoints" / f"step-{step:08d}.safetensors"


def best_path(run_dir: str | os.PathLike[str]) -> Path:
    """The best checkpoint by the run's `best_metric` (never pruned)."""
    return Path(run_dir) / "checkpoints" / "best.safetensors"


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.search(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def _optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer,
                       tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state = optimizer.state_dict()
    scalars: dict[str, Any] = {}
    for idx, entry in state["state"].items():
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.state.{idx}.{name}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{idx}.{name}"] = value
    return {"param_groups": state["param_groups"], "scalars": scalars}


def _restore_optimizer(prefix: str, optimizer: torch.optim.Optimizer, meta: dict[str, Any],
                       tensors: dict[str, torch.Tensor]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + ".state."):
            idx, name = key[len(prefix) + 7:].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    for key, value in meta["scalars"].items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    groups = meta["param_groups"]
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    _match_param_layout(optimizer)


def _match_param_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give restored moment tensors their parameter's memory layout (channels-last, say):
    checkpoints store them contiguous, and fused kernels pair elements by storage."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            entry = optimizer.state.get(p, {})
            for name, value in entry.items():
                if (isinstance(value, torch.Tensor) and value.shape == p.shape
                        and value.stride() != p.stride()):
                    entry[name] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def save_checkpoint(path: Path, generator: torch.nn.Module, discriminator: torch.nn.Module,
                    optimizers: dict[str, torch.optim.Optimizer], state: dict[str, Any],
                    rng: dict[str, torch.Tensor],
                    extra: dict[str, torch.nn.Module] | None = None) -> Path:
    """Write everything needed to resume exactly, atomically. `extra` modules (the EMA
    generator as "ema") are kept under their name as prefix."""
    tensors: dict[str, torch.Tensor] = {}
    modules = {"generator": generator, "discriminator": discriminator, **(extra or {})}
    for prefix, module in modules.items():
        for name, value in module.state_dict().items():
            tensors[f"{prefix}.{name}"] = value.detach().contiguous().cpu()
    optim_meta = {name: _optimizer_tensors(f"optim.{name}", opt, tensors)
                  for name, opt in optimizers.items()}
    for name, value in rng.items():
        tensors[f"rng.{name}"] = value.detach().contiguous().cpu()
    header = {"format": FORMAT, "state": state, "optimizers": optim_meta,
              "digest": tensor_digest(tensors)}
    # serialized here and written by Python, so a full disk is an OSError with its errno
    blob = save(tensors, metadata={"gantk": json.dumps(header)})
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(blob)
    except OSError as exc:
        raise disk_error(exc, path, "the checkpoint", "continue with `gantk run PRESET "
                         f"--resume --out {path.parent.parent}`") from None
    return path


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """blake2b over names, dtypes, shapes and bytes of all tensors: safetensors checks its
    header only, so flipped bits in the weights would load silently without this."""
    h = hashlib.blake2b(digest_size=16)
    for key in sorted(tensors):
        t = tensors[key]
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(header, tensors) of a checkpoint; a damaged or foreign file is a clear error."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            meta = fh.metadata() or {}
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118
    except Exception as exc:
        raise StoreError(f"{path} is not a readable gantk checkpoint ({exc}); use another "
                         "checkpoint or start a new run") from None
    if "gantk" not in meta:
        raise StoreError(f"{path} is a safetensors file but not a gantk checkpoint")
    header = _header(path, meta["gantk"])
    if "digest" in header and tensor_digest(tensors) != header["digest"]:
        raise StoreError(f"{path} is damaged: its tensors do not match the checksum written "
                         "with them; move it away to resume from the checkpoint before it")
    return header, tensors


def _header(path: Path, raw: str) -> dict[str, Any]:
    """The gantk header, checked for the keys loading needs."""
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise StoreError(f"{path} has a damaged gantk header (not JSON: {exc}); use another "
                         "checkpoint or start a new run") from None
    missing = [k for k in ("format", "state", "optimizers")
               if not isinstance(header, dict) or k not in header]
    if not missing and not (isinstance(header["state"], dict)
                            and isinstance(header["state"].get("step"), int)):
        missing = ["state.step"]
    if missing:
        raise StoreError(f"{path} has a gantk header without {', '.join(missing)}; it was "
                         "not written by this gantk: use another checkpoint or start a new run")
    return header


def load_weights(module: torch.nn.Module, prefix: str, tensors: dict[str, torch.Tensor],
                 source: Path | None = None) -> None:
    """Load `prefix.*` tensors into `module`; another architecture or width is refused
    with one line (torch's message lists every mismatching tensor)."""
    own = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    try:
        module.load_state_dict(own)
    except RuntimeError as exc:
        first = next((ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()), str(exc))
        raise StoreError(f"{source or 'the checkpoint'} does not fit the run's {prefix} "
                         f"({first.rstrip('.')}); it was written for another architecture or "
                         "width: check the run's config.json (model options) or use the "
                         "run that wrote it") from None


def has_weights(tensors: dict[str, torch.Tensor], prefix: str) -> bool:
    return any(k.startswith(prefix + ".") for k in tensors)


def restore(path: Path, generator: torch.nn.Module, discriminator: torch.nn.Module,
            optimizers: dict[str, torch.optim.Optimizer],
            extra: dict[str, torch.nn.Module] | None = None) -> tuple[dict[str, Any],
                                                                       dict[str, torch.Tensor]]:
    """Load weights and optimizer state in place; returns (trainer state, RNG tensors).
    An `extra` module the checkpoint lacks (EMA switched on at resume) keeps its state."""
    header, tensors = read_checkpoint(path)
    load_weights(generator, "generator", tensors, path)
    load_weights(discriminator, "discriminator", tensors, path)
    for prefix, module in (extra or {}).items():
        if has_weights(tensors, prefix):
            load_weights(module, prefix, tensors, path)
    for name, opt in optimizers.items():
        try:
            _restore_optimizer(f"optim.{name}", opt, header["optimizers"][name], tensors)
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreError(f"{path}: the {name} optimizer state does not fit ({exc}); use "
                             "another checkpoint or start a new run") from None
    rng = {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}
    return header["state"], rng


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    for old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
