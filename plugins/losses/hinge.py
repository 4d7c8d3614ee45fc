"""`hinge`: the hinge adversarial loss (Lim & Ye 2017; Miyato et al. 2018, SN-GAN).

D minimizes E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]; G minimizes -E[D(G(z))].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.specs import LossSpec

if TYPE_CHECKING:
    import torch


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


@hookimpl
def register_losses(register):
    register(LossSpec(
        name="hinge",
        d_loss=d_loss,
        g_loss=g_loss,
        description="hinge loss for D, -D(G(z)) for G (Lim & Ye 2017; SN-GAN)",
    ))
