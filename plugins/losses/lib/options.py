"""The built-in losses' options (`--set loss.KEY=VALUE`, `loss_options` in a run file),
validated by the core before any work. Apart from the loss modules so that pydantic loads
only when options are read (gantk.contract.options.lazy)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WganGpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gp_weight: float = Field(10.0, gt=0, description="lambda, the gradient penalty's weight "
                                                     "(Gulrajani et al.: 10)")
    critic_steps: int = Field(5, ge=1, description="critic updates per generator update "
                                                   "(Gulrajani et al.: 5)")
