"""`lsgan`: least squares GAN (Mao et al. 2017), the 0-1 coding (a=0, b=1, c=1).

D minimizes 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]; G minimizes 1/2 E[(D(G(z)) - 1)^2].
D's raw output (no sigmoid) is the regression target, so far-away fakes still get gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.specs import LossSpec

if TYPE_CHECKING:
    import torch


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((fake_logits - 1) ** 2).mean()


@hookimpl
def register_losses(register):
    register(LossSpec(
        name="lsgan",
        d_loss=d_loss,
        g_loss=g_loss,
        description="least squares on D's raw output, targets 1 (real) and 0 (fake) "
                    "(Mao et al. 2017)",
    ))
