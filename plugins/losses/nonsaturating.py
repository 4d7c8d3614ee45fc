"""`nonsaturating`: the paper's loss. D minimizes BCE on real/fake logits; G maximizes
log D(G(z)) (Goodfellow et al.'s non-saturating form), written with BCE-with-logits for
numerical stability instead of sigmoid + log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.specs import LossSpec

if TYPE_CHECKING:
    import torch


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    # softplus(-x) = -log sigmoid(x); softplus(x) = -log(1 - sigmoid(x))
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    return F.softplus(-fake_logits).mean()


@hookimpl
def register_losses(register):
    register(LossSpec(
        name="nonsaturating",
        d_loss=d_loss,
        g_loss=g_loss,
        description="BCE on logits; generator maximizes log D(G(z)) (the DCGAN paper's loss)",
    ))
