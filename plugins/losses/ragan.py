"""`ragan`: the relativistic average standard GAN loss (Jolicoeur-Martineau 2018, RaSGAN).

With C the raw logits, D minimizes -E_r[log sigmoid(C(x_r) - E_f C(x_f))]
- E_f[log(1 - sigmoid(C(x_f) - E_r C(x_r)))]; G minimizes the same with real and fake
swapped, so its loss needs D's logits on the real images of the step
(`needs_real_logits=True`: the trainer computes them for the generator step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.specs import LossSpec

if TYPE_CHECKING:
    import torch


def relativistic(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """-E[log sigmoid(a - E b)] - E[log(1 - sigmoid(b - E a))]: `a` is pushed above `b`."""
    import torch.nn.functional as F

    return F.softplus(b.mean() - a).mean() + F.softplus(b - a.mean()).mean()


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return relativistic(real_logits, fake_logits)


def g_loss(fake_logits: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    return relativistic(fake_logits, real_logits)


@hookimpl
def register_losses(register):
    register(LossSpec(
        name="ragan",
        d_loss=d_loss,
        g_loss=g_loss,
        needs_real_logits=True,
        description="relativistic average standard GAN loss (RaSGAN, Jolicoeur-Martineau 2018)",
    ))
