"""`dcgan`: the paper's own DCGAN, shaped as in Newmu/dcgan_code.

64x64 (faces/train_uncond_dcgan.py): z(100) -dense-> 1024x4x4, 5x5 stride-2 transposed
convs 512 -> 256 -> 128 -> C, tanh; D 5x5 stride-2 convs C -> 128 (no BN) -> 256 -> 512
-> 1024, LeakyReLU 0.2, dense -> 1 logit. 32x32 (the released SVHN model): G 256x4x4 ->
128 -> 64 -> C, D C -> 64 -> 128 -> 256. The reference code uses no biases (BatchNorm's
shift supplies them) — we follow it. Options: `model.ngf`, `model.ndf` (base widths),
`model.batchnorm` (False gives the `dcgan-no-bn` ablation), `model.d_batchnorm` (D's
BatchNorm alone; default: `batchnorm`; off for a WGAN-GP critic, whose gradient penalty
is per sample, which batch statistics would break).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import ArchitectureSpec

if TYPE_CHECKING:
    from torch import nn

    from gantk.training.config import RunConfig

RESOLUTIONS = (16, 32, 64, 128)
PAPER_WIDTH = {16: 64, 32: 64, 64: 128, 128: 128}
# the conv Generator/Discriminator of lib/blocks.py offer all three
CAPABILITIES = ("features", "conv-features", "hidden", "layers")
OPTIONS = lazy("gantk.plugins.architectures.lib.options:DcganOptions")


def build_dcgan(config: RunConfig, batchnorm: bool | None = None) -> tuple[nn.Module, nn.Module]:
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
    from gantk.plugins.architectures.lib.options import DcganOptions

    res, channels, nz = config.resolution or 64, config.channels or 3, config.nz
    opts = read(DcganOptions, "architecture", config.architecture, config.model)
    bn = opts.batchnorm if batchnorm is None else batchnorm
    d_bn = bn if opts.d_batchnorm is None else opts.d_batchnorm
    ngf = opts.ngf or PAPER_WIDTH[res]
    ndf = opts.ndf or PAPER_WIDTH[res]
    kernel = opts.kernel
    n = upsamplings(res)
    g_widths = [ngf * 2 ** (n - 1 - i) for i in range(n)]
    pad = kernel // 2

    project_layers: list[nn.Module] = [nn.Linear(nz, g_widths[0] * 16, bias=not bn),
                                       Reshape(g_widths[0], 4, 4)]
    if bn:
        project_layers.append(nn.BatchNorm2d(g_widths[0]))
    project_layers.append(nn.ReLU(inplace=True))
    # Without BatchNorm (the `dcgan-no-bn` ablation) layers need their own biases.
    body = [g_block(a, b, kernel, 2, pad, 1, norm=bn, bias=not bn)
            for a, b in zip(g_widths, g_widths[1:])]
    body.append(nn.Sequential(nn.ConvTranspose2d(g_widths[-1], channels, kernel, 2, pad, 1,
                                                 bias=False), nn.Tanh()))
    generator = Generator(nz, nn.Sequential(*project_layers), nn.Sequential(*body))

    d_widths = [ndf * 2**i for i in range(n)]
    blocks = nn.ModuleList()
    cin = channels
    for i, cout in enumerate(d_widths):
        blocks.append(d_block(cin, cout, kernel, 2, pad, norm=d_bn and i > 0, bias=not d_bn))
        cin = cout
    head = nn.Sequential(nn.Flatten(), nn.Linear(d_widths[-1] * 16, 1, bias=False))
    discriminator = Discriminator(blocks, head)
    return initialized(generator, discriminator)


@hookimpl
def register_architectures(register):
    register(ArchitectureSpec(
        name="dcgan",
        build=build_dcgan,
        resolutions=RESOLUTIONS,
        capabilities=CAPABILITIES,
        options=OPTIONS,
        description="Radford et al. DCGAN as in Newmu/dcgan_code: dense projection, 5x5 "
                    "stride-2 (transposed) convs, BatchNorm, ReLU/LeakyReLU(0.2), no biases",
    ))
