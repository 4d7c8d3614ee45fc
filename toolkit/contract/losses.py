"""The loss a training uses: the registered `LossSpec` with the run's loss options applied.

One place turns `config.loss_options` into the loss, so the trainer, the steps-per-epoch
count (which needs `critic_steps`) and the contract checker all see the same loss.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gantk.contract.options import options_model, parse
from gantk.contract.registry import get_registry
from gantk.contract.specs import LossSpec
from gantk.errors import ConfigError


def configured_loss(name: str, options: dict[str, Any] | None = None) -> LossSpec:
    """`name`'s LossSpec configured by `options` (validated first: one line on a bad key
    or value). A loss that declares no options model refuses every option."""
    spec = get_registry().loss(name)
    if options_model(spec) is None:
        if options:
            raise ConfigError(f"loss {name!r} takes no options (given: "
                              f"{', '.join(sorted(options))}); drop the loss.KEY settings")
        return spec
    parsed = parse(spec, "loss", options)
    if spec.configure is None:
        return spec
    configured = spec.configure(spec, parsed)
    if not isinstance(configured, LossSpec):
        raise ConfigError(f"loss {name!r}: its configure() returned {type(configured).__name__}, "
                          "not a LossSpec; fix the plugin")
    return dataclasses.replace(configured, name=spec.name, options=spec.options, configure=None)
