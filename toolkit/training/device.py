"""Choosing where to compute: CUDA when present, else CPU; `--device` overrides."""

from __future__ import annotations

import torch

from gantk.errors import ConfigError


def resolve_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {requested} asked for, but no CUDA GPU is visible to "
                          "torch; use --device cpu (or auto)")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps asked for, but MPS is not available; use cpu")
    return torch.device(requested)
