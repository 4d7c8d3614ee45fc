"""Checks that a plugin keeps its contract, each failing with one line that names the
plugin and what it got wrong (a ContractError, exit code 2).

`check_models` is cheap (one batch-of-two forward pass without gradients; the random
state and BatchNorm statistics are put back, so a run trains exactly as without it): the
trainer runs it once before the first step. `gantk.testing` adds the slower checks a plugin's own
tests run (initialization, a forward/backward pass, losses, dataset records).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk.errors import ContractError

if TYPE_CHECKING:
    import torch
    from torch import nn

RANGE_SLACK = 1e-4  # tanh in low precision may overshoot 1 by an ulp


def _fail(what: str, problem: str) -> None:
    raise ContractError(f"{what} breaks the plugin contract: {problem} (see docs/plugins.md)")


def check_models(generator: nn.Module, discriminator: nn.Module, *, what: str,
                 resolution: int, channels: int, nz: int,
                 capabilities: Iterable[str] = (), batch: int = 2) -> None:
    """Output shapes and range, `(N,)` logits, `nz`, and every declared capability, on a
    batch of `batch` without gradients, leaving no trace on the models or the RNG."""
    import torch

    if getattr(generator, "nz", None) != nz:
        _fail(what, f"generator.nz is {getattr(generator, 'nz', None)!r}, expected {nz} "
                    "(the config's nz)")
    device = _device(generator)
    z = (torch.rand(batch, nz, generator=torch.Generator().manual_seed(0)) * 2 - 1).to(device)
    # in the mode training uses (eval-mode BatchNorm hides a fresh model's range), with
    # the random state and buffers (BatchNorm statistics) put back afterwards
    saved = [b.detach().clone() for m in (generator, discriminator) for b in m.buffers()]
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        try:
            with torch.no_grad():
                _check_forward(generator, discriminator, z, what, resolution, channels,
                               set(capabilities))
        finally:
            buffers = [b for m in (generator, discriminator) for b in m.buffers()]
            with torch.no_grad():
                for buffer, value in zip(buffers, saved):
                    buffer.copy_(value)


def _device(module: nn.Module) -> torch.device:
    import torch

    first = next(module.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _check_forward(G: nn.Module, D: nn.Module, z: torch.Tensor, what: str, resolution: int,
                   channels: int, capabilities: set[str]) -> None:
    import torch

    n = z.shape[0]
    images = G(z)
    expected = (n, channels, resolution, resolution)
    if not isinstance(images, torch.Tensor) or tuple(images.shape) != expected:
        _fail(what, f"the generator returned {_shape(images)} for z of shape {tuple(z.shape)}, "
                    f"expected images of shape {expected}")
    if not torch.isfinite(images).all():
        _fail(what, "the generator returned NaN/Inf")
    low, high = float(images.min()), float(images.max())
    if low < -1 - RANGE_SLACK or high > 1 + RANGE_SLACK:
        _fail(what, f"generated images lie in [{low:.3g}, {high:.3g}], expected [-1, 1] "
                    "(end the generator with tanh)")
    logits = D(images)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (n,):
        hint = " (flatten: .reshape(-1))" if _shape(logits) == f"a tensor of shape ({n}, 1)" else ""
        _fail(what, f"the discriminator returned {_shape(logits)} for {n} images, expected "
                    f"logits of shape ({n},){hint}")
    if not torch.isfinite(logits).all():
        _fail(what, "the discriminator returned NaN/Inf logits")
    if capabilities & {"features", "conv-features"}:
        feats = _check_list(what, "discriminator.features(x)", lambda: D.features(images), n)
        if "conv-features" in capabilities and any(f.dim() != 4 for f in feats):
            _fail(what, "it declares conv-features but discriminator.features(x) returned "
                        f"shapes {[tuple(f.shape) for f in feats]}; expected (N, C, H, W) maps")
    if "hidden" in capabilities:
        hidden = _check_list(what, "generator.hidden(z)", lambda: G.hidden(z), n)
    if "layers" in capabilities:
        layers = _call(what, "generator.layers()", lambda: G.layers())
        if not isinstance(layers, list) or not all(isinstance(m, torch.nn.Module)
                                                   for m in layers):
            _fail(what, "generator.layers() must return a list of nn.Module")
        if "hidden" in capabilities and len(layers) != len(hidden):
            _fail(what, f"generator.layers() has {len(layers)} modules but hidden(z) "
                        f"returned {len(hidden)} tensors; they must correspond")


def _call(what: str, call: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except AttributeError as exc:
        _fail(what, f"it declares the capability behind {call} but {call} failed: {exc}")


def _check_list(what: str, call: str, fn: Callable[[], Any], n: int) -> list:
    import torch

    values = _call(what, call, fn)
    if (not isinstance(values, list) or not values
            or not all(isinstance(t, torch.Tensor) and t.shape[:1] == (n,) for t in values)):
        _fail(what, f"{call} must return a non-empty list of tensors, batch first ({n} rows)")
    return values


def _shape(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return f"a tensor of shape {tuple(shape)}" if shape is not None else type(value).__name__


def check_initialized(module: nn.Module, what: str, role: str) -> None:
    """Parameters exist, are finite, and weights are not all zero (init ran)."""
    import torch

    params = list(module.named_parameters())
    if not params:
        _fail(what, f"the {role} has no parameters")
    for name, p in params:
        if not torch.isfinite(p).all():
            _fail(what, f"{role} parameter {name} holds NaN/Inf after build")
    weights = [p for name, p in params if p.dim() > 1]
    if weights and all(float(p.detach().abs().max()) == 0 for p in weights):
        _fail(what, f"every {role} weight is zero after build; initialize inside build")


def check_backward(generator: nn.Module, discriminator: nn.Module, what: str, nz: int) -> None:
    """One forward/backward through D(G(z)) in train mode: every trainable parameter of
    both models receives a finite gradient."""
    import torch

    z = torch.rand(4, nz, generator=torch.Generator().manual_seed(1)) * 2 - 1
    generator.zero_grad(set_to_none=True)
    discriminator.zero_grad(set_to_none=True)
    discriminator(generator(z)).mean().backward()
    for role, module in (("generator", generator), ("discriminator", discriminator)):
        for name, p in module.named_parameters():
            if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all()):
                _fail(what, f"{role} parameter {name} got no finite gradient from D(G(z))")
    generator.zero_grad(set_to_none=True)
    discriminator.zero_grad(set_to_none=True)


def check_scalar(value: Any, what: str, call: str) -> None:
    import torch

    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        _fail(what, f"{call} returned {_shape(value)}, expected a scalar tensor")
    if not torch.isfinite(value):
        _fail(what, f"{call} is not finite")
    if not value.requires_grad:
        _fail(what, f"{call} is not differentiable (it must depend on the logits)")


def check_records(records: Iterable[Any], what: str, limit: int) -> int:
    """The first `limit` items of a dataset source are well-formed; returns their count."""
    import numpy as np
    from PIL import Image

    from gantk.contract.specs import Record, Skipped

    seen: set[str] = set()
    count = 0
    for item in records:
        if count >= limit:
            break
        count += 1
        if not isinstance(item, Record | Skipped):
            _fail(what, f"open() yielded a {type(item).__name__}; yield Record or Skipped")
        if not isinstance(item.key, str) or not item.key or item.key in seen:
            _fail(what, f"record key {item.key!r} is empty, not a string or repeated")
        seen.add(item.key)
        if isinstance(item, Skipped):
            continue
        image = item.image
        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8 or image.ndim not in (2, 3):
                _fail(what, f"record {item.key!r}: an array image must be uint8 (H, W) or "
                            f"(H, W, C), got {image.dtype} {image.shape}")
        elif isinstance(image, Path):
            if not image.is_file():
                _fail(what, f"record {item.key!r}: image path {image} is not a file")
        elif not isinstance(image, bytes | Image.Image):
            _fail(what, f"record {item.key!r}: image is a {type(image).__name__}; use bytes, "
                        "a Path, a PIL image or a uint8 array")
        if item.label is not None and (isinstance(item.label, bool)
                                       or not isinstance(item.label, int)):
            _fail(what, f"record {item.key!r}: label {item.label!r} is not an int or None")
    return count
