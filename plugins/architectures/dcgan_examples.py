"""`dcgan-pytorch`: the popular port (pytorch/examples dcgan/main.py, soumith/dcgan.torch).

4x4 kernels, ngf = ndf = 64, z through a 4x4 transposed conv from 1x1, a final 4x4 conv
in D, biases off. Users compare against it, so it is registered under its own name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import ArchitectureSpec
from gantk.plugins.architectures.dcgan import CAPABILITIES

if TYPE_CHECKING:
    from torch import nn

    from gantk.training.config import RunConfig


def build_dcgan_pytorch(config: RunConfig) -> tuple[nn.Module, nn.Module]:
    from torch import nn

    from gantk.contract.options import read
    from gantk.plugins.architectures.lib.blocks import (
        Discriminator,
        Generator,
        Reshape,
        d_block,
        g_block,
        initialized,
        upsamplings,
    )
    from gantk.plugins.architectures.lib.options import DcganPytorchOptions

    res, channels, nz = config.resolution or 64, config.channels or 3, config.nz
    opts = read(DcganPytorchOptions, "architecture", "dcgan-pytorch", config.model)
    ngf, ndf = opts.ngf, opts.ndf
    n = upsamplings(res)
    g_widths = [ngf * 2 ** (n - 1 - i) for i in range(n)]
    project = nn.Sequential(Reshape(nz, 1, 1), g_block(nz, g_widths[0], 4, 1, 0, 0, norm=True))
    body = [g_block(a, b, 4, 2, 1, 0, norm=True) for a, b in zip(g_widths, g_widths[1:])]
    body.append(nn.Sequential(nn.ConvTranspose2d(g_widths[-1], channels, 4, 2, 1, bias=False),
                              nn.Tanh()))
    generator = Generator(nz, project, nn.Sequential(*body))

    d_widths = [ndf * 2**i for i in range(n)]
    blocks = nn.ModuleList()
    cin = channels
    for i, cout in enumerate(d_widths):
        blocks.append(d_block(cin, cout, 4, 2, 1, norm=i > 0))
        cin = cout
    discriminator = Discriminator(blocks, nn.Conv2d(d_widths[-1], 1, 4, 1, 0, bias=False))
    return initialized(generator, discriminator)


@hookimpl
def register_architectures(register):
    register(ArchitectureSpec(
        name="dcgan-pytorch",
        build=build_dcgan_pytorch,
        resolutions=(16, 32, 64, 128),
        capabilities=CAPABILITIES,
        options=lazy("gantk.plugins.architectures.lib.options:DcganPytorchOptions"),
        description="the pytorch/examples DCGAN port: 4x4 kernels, ngf=ndf=64, z from 1x1",
    ))
