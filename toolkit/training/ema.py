"""The EMA generator: an exponential moving average of G's weights and buffers, kept
beside G and used for samples and scores (training itself is unchanged).

The average is `torch.optim.swa_utils.AveragedModel` with its EMA update; the decay warms
up as `min(decay, (1 + t) / (10 + t))` at update t (as TensorFlow's ExponentialMovingAverage
with `num_updates`), so a short run is not dominated by its random initial weights. The
decay is a function of the step alone, which keeps a resumed run exact."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def ema_decay(decay: float, step: int) -> float:
    """The decay used at update `step` (0-based): warmed up, never above `decay`."""
    return min(decay, (1 + step) / (10 + step))


class EmaGenerator:
    """`model` is an AveragedModel of the generator; `model.module` generates."""

    def __init__(self, generator: nn.Module, decay: float) -> None:
        self.decay = decay
        self._current = decay
        self.model = AveragedModel(generator, multi_avg_fn=self._average, use_buffers=True)
        self.model.requires_grad_(False)

    def _average(self, averaged: list[torch.Tensor], current: list[torch.Tensor],
                 count: torch.Tensor) -> None:
        get_ema_multi_avg_fn(self._current)(averaged, current, count)

    def update(self, generator: nn.Module, step: int) -> None:
        """Fold in G after the generator update of `step` (0-based)."""
        self._current = ema_decay(self.decay, step)
        self.model.update_parameters(generator)

    @property
    def generator(self) -> nn.Module:
        return self.model.module
