"""Contract checks a plugin's own tests call (re-exported by `gantk.testing`): build or
call a registered item by name and check everything the toolkit relies on, on the CPU,
in well under a second for small widths. Each problem is one ContractError line.

    from gantk.testing import check_architecture, check_dataset, check_loss

    def test_contract():
        check_architecture("resgan", resolution=32, channels=1, ngf=8, ndf=8)
        check_loss("my-loss")
        check_dataset("my-source", tmp_path / "input")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk.contract import checks

if TYPE_CHECKING:
    from torch import nn

    from gantk.contract.specs import Record, Skipped


def _what(kind: str, name: str) -> str:
    from gantk.contract.registry import get_registry

    owner = get_registry().owner(kind, name)
    return f"{kind} {name!r} ({owner.package})"


def check_architecture(name: str, resolution: int = 32, channels: int = 1, nz: int = 100,
                       **options: Any) -> tuple[nn.Module, nn.Module]:
    """Build `name` with `options` (`model.*`) and check the model contract: output shape
    and range, `(N,)` logits, `nz`, the declared capabilities, initialized parameters and
    a forward/backward pass. Returns the pair."""
    import torch

    from gantk.contract.registry import get_registry
    from gantk.training.config import check_against_registry, make_config

    spec = get_registry().architecture(name)
    config = make_config({"architecture": name, "resolution": resolution,
                          "channels": channels, "nz": nz, "model": options})
    check_against_registry(config)
    what = _what("architecture", name)
    torch.manual_seed(0)
    generator, discriminator = spec.build(config)
    checks.check_models(generator, discriminator, what=what, resolution=resolution,
                        channels=channels, nz=nz, capabilities=spec.capabilities)
    checks.check_initialized(generator, what, "generator")
    checks.check_initialized(discriminator, what, "discriminator")
    checks.check_backward(generator, discriminator, what, nz)
    return generator, discriminator


def check_loss(name: str, options: dict[str, Any] | None = None) -> None:
    """`d_loss`, `g_loss` (with the real logits when the loss asks for them) and the
    penalty return finite scalars that are differentiable in their inputs, for the loss
    configured by `options` (its defaults when None)."""
    import torch

    from gantk.contract.losses import configured_loss

    spec = configured_loss(name, options)
    what = _what("loss", name)
    if not isinstance(spec.critic_steps, int) or spec.critic_steps < 1:
        checks._fail(what, f"critic_steps is {spec.critic_steps!r}, expected an int >= 1")
    rng = torch.Generator().manual_seed(0)
    real, fake = (torch.randn(6, generator=rng).requires_grad_() for _ in range(2))
    d = spec.d_loss(real, fake)
    checks.check_scalar(d, what, "d_loss(real_logits, fake_logits)")
    d.backward()
    _finite_grads(what, "d_loss", real, fake)
    fake = torch.randn(6, generator=rng).requires_grad_()
    args = (fake, real.detach()) if spec.needs_real_logits else (fake,)
    g = spec.g_loss(*args)
    checks.check_scalar(g, what, "g_loss" + ("(fake_logits, real_logits)"
                                             if spec.needs_real_logits else "(fake_logits)"))
    g.backward()
    _finite_grads(what, "g_loss", fake)
    if spec.penalty is not None:
        critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 1),
                                     torch.nn.Flatten(0))
        images = [torch.rand(4, 1, 4, 4, generator=rng) * 2 - 1 for _ in range(2)]
        checks.check_scalar(spec.penalty(critic, *images), what,
                            "penalty(discriminator, real, fake)")


def _finite_grads(what: str, call: str, *tensors: Any) -> None:
    import torch

    if not all(t.grad is not None and torch.isfinite(t.grad).all() for t in tensors):
        checks._fail(what, f"{call} has no finite gradient with respect to its logits")


def check_dataset(name: str, path: str | os.PathLike[str], options: dict[str, Any] | None = None,
                  limit: int = 16) -> list[Record | Skipped]:
    """Open `path` with the source and check its first `limit` records: `Record` or
    `Skipped`, unique string keys, a usable image, an int label or None; `length` and
    `classes`, when given, answer too. Returns the records checked."""
    from itertools import islice

    from gantk.contract.options import validate_options
    from gantk.contract.registry import get_registry

    spec = get_registry().dataset(name)
    what = _what("dataset", name)
    opts = validate_options(spec, "dataset", options)
    src = Path(path)
    records = list(islice(spec.open(src, opts), limit))
    if not checks.check_records(records, what, limit):
        checks._fail(what, f"open() yielded nothing for {src}")
    if spec.length is not None:
        n = spec.length(src, opts)
        if n is not None and (not isinstance(n, int) or n < len(records)):
            checks._fail(what, f"length() returned {n!r} for {src}, fewer than it yields")
    if spec.classes is not None:
        names = spec.classes(src, opts)
        if names is not None and not all(isinstance(c, str) for c in names):
            checks._fail(what, "classes() must return a list of str or None")
    return records
