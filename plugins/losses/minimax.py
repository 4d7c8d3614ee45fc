"""`minimax`: the original saturating GAN loss (Goodfellow et al. 2014, eq. 1).

D is trained exactly as with `nonsaturating`; G *minimizes* log(1 - D(G(z))) instead of
maximizing log D(G(z)). Its gradient vanishes when D confidently rejects fakes (early in
training), which is why the paper recommends the non-saturating form: this baseline makes
that claim testable. log(1 - sigmoid(x)) = -softplus(x), so no sigmoid is taken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.specs import LossSpec
from gantk.plugins.losses.nonsaturating import d_loss

if TYPE_CHECKING:
    import torch


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    return -F.softplus(fake_logits).mean()


@hookimpl
def register_losses(register):
    register(LossSpec(
        name="minimax",
        d_loss=d_loss,
        g_loss=g_loss,
        description="the original saturating loss: G minimizes log(1 - D(G(z))) "
                    "(Goodfellow et al. 2014)",
    ))
