"""`example-upsample`: resize-convolution generator (Odena et al. 2016) and a strided
conv discriminator that honours gantk's model contract."""

from __future__ import annotations

import math

import torch
from torch import nn


class UpsampleGenerator(nn.Module):
    def __init__(self, nz: int, ngf: int, resolution: int, channels: int):
        super().__init__()
        self.nz = nz  # the contract: G exposes nz
        n = int(math.log2(resolution)) - 2
        widths = [ngf * 2 ** (n - 1 - i) for i in range(n)] + [ngf]
        self.project = nn.Sequential(
            nn.Linear(nz, widths[0] * 16), nn.Unflatten(1, (widths[0], 4, 4)),
            nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        for cin, cout in zip(widths, widths[1:]):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z))


class StridedDiscriminator(nn.Module):
    def __init__(self, ndf: int, resolution: int, channels: int):
        super().__init__()
        n = int(math.log2(resolution)) - 2
        widths = [channels] + [ndf * 2**i for i in range(n)]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True))
            for cin, cout in zip(widths, widths[1:]))
        self.head = nn.Linear(widths[-1] * 16, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The contract: one activation map per conv layer."""
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[-1].flatten(1)).reshape(-1)  # logits (N,)


def build_upsample_gan(config) -> tuple[nn.Module, nn.Module]:
    from gantk.contract.options import read
    from gantk_plugin_example.options import UpsampleOptions

    # gantk validated config.model already; read() fills in the defaults (and gives the
    # same one-line error when the builder is called directly with bad options)
    opts = read(UpsampleOptions, "architecture", "example-upsample", config.model)
    res, channels = config.resolution or 32, config.channels or 3
    return (UpsampleGenerator(config.nz, opts.ngf, res, channels),
            StridedDiscriminator(opts.ndf, res, channels))
