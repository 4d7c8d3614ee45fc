"""The paper's hash model: a 3072-128-3072 denoising, dropout-regularized ReLU autoencoder.

Training corrupts the input with Gaussian noise (denoising) and drops code units
(dropout); the code layer is a ReLU, and a unit that fires (> 0) is a 1 bit. Saved as
`hash_model.safetensors` (weights) + `hash_model.json` (config, training record).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gantk.atomic import atomic_path, write_text_atomic
from gantk.datasets.dedup.crops import INPUTS
from gantk.errors import GantkError

FORMAT = "gantk-hash-model/1"
WEIGHTS = "hash_model.safetensors"
CONFIG = "hash_model.json"
CODE_BITS = 128


class HashAutoencoder(nn.Module):
    def __init__(self, inputs: int = INPUTS, code: int = CODE_BITS, noise: float = 0.2,
                 dropout: float = 0.2):
        super().__init__()
        self.encoder = nn.Linear(inputs, code)
        self.decoder = nn.Linear(code, inputs)
        self.noise = noise
        self.drop = nn.Dropout(dropout)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.noise > 0:
            x = x + self.noise * torch.randn_like(x)
        return self.decoder(self.drop(self.encode(x)))

    def stability_loss(self, corrupted: torch.Tensor, clean: torch.Tensor,
                       margin: float) -> torch.Tensor:
        """Hinge on each code unit's sign: the corrupted input's pre-activation (per unit
        of weight norm) should sit at least `margin` on the clean input's side of 0."""
        norm = self.encoder.weight.norm(dim=1)
        with torch.no_grad():  # a target only: no graph for its backward pass
            side = torch.sign(self.encoder(clean))
        return torch.relu(margin - side * self.encoder(corrupted) / norm).mean()

    @torch.no_grad()
    def bits(self, x: np.ndarray, device: torch.device) -> np.ndarray:
        """float64 inputs `(N, 3072)` -> `(N, 16)` packed uint8 codes (ReLU > 0 is a 1).

        Computed in float64 so a pre-activation's sign does not depend on the batch it
        came in: an exact duplicate always gets exactly the same code.
        """
        w = self.encoder.weight.to(device, torch.float64)
        b = self.encoder.bias.to(device, torch.float64)
        pre = torch.from_numpy(x).to(device) @ w.T + b
        return np.packbits((pre > 0).cpu().numpy(), axis=1)


def save_hash_model(model: HashAutoencoder, out_dir: Path, config: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(out_dir / WEIGHTS) as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT})
    write_text_atomic(out_dir / CONFIG, json.dumps({"format": FORMAT, **config}, indent=1))
    return out_dir


def hash_model_files(model: str | Path) -> tuple[Path, Path]:
    """Accept the model directory or either of its two files."""
    model = Path(model)
    folder = model if model.is_dir() else model.parent
    weights, config = folder / WEIGHTS, folder / CONFIG
    if not weights.is_file() or not config.is_file():
        raise GantkError(f"{model}: no hash model ({WEIGHTS} + {CONFIG}); train one with "
                         "`gantk dedup` or gantk.datasets.dedup.train_hash_model")
    return weights, config


def load_hash_model(model: str | Path) -> tuple[HashAutoencoder, dict[str, Any]]:
    weights, config_path = hash_model_files(model)
    config = json.loads(config_path.read_text())
    if config.get("format") != FORMAT:
        raise GantkError(f"{config_path}: format {config.get('format')!r} is not {FORMAT}; "
                         "re-train the hash model")
    net = HashAutoencoder(config["inputs"], config["code_bits"], config["noise"],
                          config["dropout"])
    net.load_state_dict(load_file(str(weights)))
    return net.eval(), config
