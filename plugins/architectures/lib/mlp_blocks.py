"""Fully connected building blocks for `mlp-gan` (imported only when a model is built)."""

from __future__ import annotations

import torch
from torch import nn


class Maxout(nn.Module):
    """A linear layer of `units * pieces` outputs, max over each unit's pieces."""

    def __init__(self, cin: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(cin, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(-1)


class MLPGenerator(nn.Module):
    """z `(N, nz)` -> two ReLU layers -> `(N, C, H, W)` through tanh."""

    def __init__(self, nz: int, hidden: int, shape: tuple[int, int, int]):
        super().__init__()
        self.nz, self.shape = nz, shape
        self.net = nn.Sequential(
            nn.Linear(nz, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, shape[0] * shape[1] * shape[2]), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """Flattened images -> two maxout layers -> one logit; dropout before every layer."""

    def __init__(self, cin: int, units: int, pieces: int, drop_input: float,
                 drop_hidden: float):
        super().__init__()
        self.hidden = nn.ModuleList([Maxout(cin, units, pieces), Maxout(units, units, pieces)])
        self.drops = nn.ModuleList([nn.Dropout(drop_input), nn.Dropout(drop_hidden)])
        self.out_drop = nn.Dropout(drop_hidden)
        self.head = nn.Linear(units, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each hidden maxout layer's activations `(N, units)`."""
        feats, h = [], x.flatten(1)
        for drop, layer in zip(self.drops, self.hidden):
            h = layer(drop(h))
            feats.append(h)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.out_drop(self.features(x)[-1])).reshape(-1)


def uniform_init(module: nn.Module, bound: float) -> None:
    """pylearn2's `irange`: weights U(-bound, bound), biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)
