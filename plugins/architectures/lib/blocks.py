"""Shared building blocks for convolutional GANs that honour the gantk model contract."""

from __future__ import annotations

import math

import torch
from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """The paper's init (dcgan_code lib/inits.py): weights N(0, 0.02), BN gains N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def initialized(generator: nn.Module,
                discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
    """The pair with the paper's init applied to both, as every DCGAN builder returns it."""
    dcgan_init(generator)
    dcgan_init(discriminator)
    return generator, discriminator


def upsamplings(resolution: int) -> int:
    """Stride-2 steps from a 4x4 map to `resolution` (32 -> 3, 64 -> 4)."""
    return int(math.log2(resolution)) - 2


class Generator(nn.Module):
    """z `(N, nz)` -> `project` -> `body` -> images `(N, C, H, W)` in [-1, 1]."""

    def __init__(self, nz: int, project: nn.Module, body: nn.Sequential):
        super().__init__()
        self.nz = nz
        self.project = project
        self.body = body

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z))

    def layers(self) -> list[nn.Module]:
        """The modules whose outputs `hidden` returns, in order: hook one to edit its
        feature maps (the paper's filter ablation)."""
        return [self.project, *list(self.body)[:-1]]

    def hidden(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Activations after the projection and after each hidden block (for ablations)."""
        outs = [z]
        for layer in self.layers():
            outs.append(layer(outs[-1]))
        return outs[1:]


class Discriminator(nn.Module):
    """images -> conv `blocks` -> `head` -> logits `(N,)`; `features` returns each block's
    activations (the paper's feature-probe input)."""

    def __init__(self, blocks: nn.ModuleList, head: nn.Module):
        super().__init__()
        self.blocks = blocks
        self.head = head

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x).reshape(-1)


class Reshape(nn.Module):
    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


def d_block(cin: int, cout: int, kernel: int, stride: int, padding: int,
            norm: bool, bias: bool = False) -> nn.Sequential:
    """Conv (biasless, as the reference code) + optional BatchNorm + LeakyReLU(0.2)."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, padding, bias=bias)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def g_block(cin: int, cout: int, kernel: int, stride: int, padding: int, output_padding: int,
            norm: bool, bias: bool = False) -> nn.Sequential:
    """Transposed conv (biasless, as the reference code) + optional BatchNorm + ReLU."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, kernel, stride, padding,
                                                  output_padding, bias=bias)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)
