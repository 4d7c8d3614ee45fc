"""Building a run's networks from its architecture plugin, with the plugin's complaints
about model options (`--set model.ngf=abc`, `model.bogus=1`) turned into one line."""

from __future__ import annotations

from typing import Any

from gantk.errors import ConfigError, GantkError
from gantk.training.config import RunConfig


def build_models(config: RunConfig) -> tuple[Any, Any]:
    """(generator, discriminator) of `config`; bad model options are a ConfigError."""
    from gantk.contract.registry import get_registry

    arch = get_registry().architecture(config.architecture)
    try:
        return arch.build(config)
    except GantkError:
        raise
    except (TypeError, ValueError, RuntimeError, KeyError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        options = " ".join(f"model.{k}={v!r}" for k, v in config.model.items()) or "none"
        raise ConfigError(f"architecture {arch.name!r} cannot be built with model options "
                          f"{options} ({detail}); fix or drop the --set model.KEY=VALUE "
                          "(the options are listed by `gantk plugins`)") from exc
