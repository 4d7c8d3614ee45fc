"""`wgan-gp`: Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1).

The critic minimizes E[D(G(z))] - E[D(x)] + lambda * E[(||grad_xhat D(xhat)||_2 - 1)^2]
on random interpolates xhat = eps * x + (1 - eps) * G(z), eps ~ U[0, 1] per sample,
lambda = 10, with 5 critic updates per generator update; G minimizes -E[D(G(z))].
Both are options: `--set loss.gp_weight=5 --set loss.critic_steps=1`.

The penalty is a per-sample gradient norm, so the critic must not normalize across the
batch (no BatchNorm in D): the `wgan-gp` preset turns D's BatchNorm off.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import LossSpec

if TYPE_CHECKING:
    import torch

    from gantk.plugins.losses.lib.options import WganGpOptions

LAMBDA = 10.0
CRITIC_STEPS = 5


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return fake_logits.mean() - real_logits.mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     weight: float = LAMBDA) -> torch.Tensor:
    """weight * mean over samples of (||d critic / d xhat||_2 - 1)^2, differentiable.

    eps is drawn from the CPU generator (which checkpoints save), so resumed runs repeat
    exactly on any device.
    """
    import torch

    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1))).to(real.device, real.dtype)
    xhat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(xhat)
    (grad,) = torch.autograd.grad(out.sum(), xhat, create_graph=True)
    norms = grad.float().flatten(1).norm(2, dim=1)
    return weight * ((norms - 1) ** 2).mean()


def configure(spec: LossSpec, options: WganGpOptions) -> LossSpec:
    """The loss with the chosen penalty weight and critic steps."""
    return dataclasses.replace(spec, critic_steps=options.critic_steps,
                               penalty=functools.partial(gradient_penalty,
                                                         weight=options.gp_weight))


@hookimpl
def register_losses(register):
    register(LossSpec(
        name="wgan-gp",
        d_loss=d_loss,
        g_loss=g_loss,
        penalty=gradient_penalty,
        critic_steps=CRITIC_STEPS,
        description="Wasserstein critic with gradient penalty (lambda 10) on interpolates, "
                    "5 critic steps per G step (Gulrajani et al. 2017)",
        options=lazy("gantk.plugins.losses.lib.options:WganGpOptions"),
        configure=configure,
    ))
