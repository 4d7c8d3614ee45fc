"""Presets for the baselines: each changes one thing against the paper's `dcgan` preset,
so that `gantk run NAME` compares like with like.

- `minimax`, `lsgan`, `hinge`, `ragan`: the paper's model and optimizer, only the loss swapped.
- `dcgan-no-bn`: the paper's settings on DCGAN without BatchNorm (the stability ablation).
- `mlp-gan`: the paper's settings on Goodfellow et al.'s fully connected GAN (the original
  used SGD with momentum; here only the architecture differs from `dcgan`).
- `wgan-gp`: Gulrajani et al. 2017's Algorithm 1 defaults: lambda 10, 5 critic steps,
  Adam(lr 1e-4, betas (0, 0.9)), batch 64, and a critic without BatchNorm (G keeps it);
  `epochs` still counts real images seen, so each epoch has 5x fewer generator steps.
"""

from __future__ import annotations

from gantk import hookimpl
from gantk.contract.specs import PresetSpec
from gantk.plugins.presets import DCGAN

WGAN_GP = {**DCGAN, "loss": "wgan-gp", "model": {"d_batchnorm": False}, "lr": 1e-4,
           "beta1": 0.0, "beta2": 0.9, "batch_size": 64}

BASELINES: dict[str, tuple[dict, str]] = {
    "minimax": ({**DCGAN, "loss": "minimax"},
                "DCGAN with the original saturating minimax loss"),
    "lsgan": ({**DCGAN, "loss": "lsgan"}, "DCGAN with the least squares loss (Mao et al.)"),
    "hinge": ({**DCGAN, "loss": "hinge"}, "DCGAN with the hinge loss"),
    "ragan": ({**DCGAN, "loss": "ragan"},
              "DCGAN with the relativistic average loss (RaSGAN, Jolicoeur-Martineau)"),
    "wgan-gp": (WGAN_GP, "DCGAN (critic without BatchNorm) with WGAN-GP: lambda 10, 5 critic "
                         "steps, Adam(1e-4, betas (0, 0.9)), batch 64"),
    "dcgan-no-bn": ({**DCGAN, "architecture": "dcgan-no-bn"},
                    "the paper's settings on DCGAN without batch normalization"),
    "mlp-gan": ({**DCGAN, "architecture": "mlp-gan"},
                "the paper's settings on Goodfellow et al.'s fully connected GAN"),
}


@hookimpl
def register_presets(register):
    for name, (config, description) in BASELINES.items():
        register(PresetSpec(name, config, description))
