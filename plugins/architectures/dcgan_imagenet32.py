"""`dcgan-imagenet32`: the discriminator behind the paper's CIFAR-10 result (Table 1).

dcgan_code's released `imagenet_gan_pretrain_128f_relu_lrelu_7l_3x3_256z`: z of 256 dims,
3x3 kernels; D 3 -> 128 (s1) -> 128 (s2) -> 256 (s1) -> 256 (s2) -> 512 (s1) -> 512 (s2)
(a 4x4 map; BatchNorm on all but the first layer, LeakyReLU 0.2) -> dense logit; G
mirrored: dense -> 512x4x4 -> 512 (s2) -> 256 (s1) -> 256 (s2) -> 128 (s1) -> 128 (s2)
-> 3 (s1), tanh. Every D conv layer max-pooled to 4x4 gives the paper's 28,672 features.
Preset `dcgan-imagenet32`: train it on an ImageNet store at 32x32, probe on cifar10.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import ArchitectureSpec, PresetSpec
from gantk.plugins.architectures.dcgan import CAPABILITIES

if TYPE_CHECKING:
    from torch import nn

    from gantk.training.config import RunConfig

# (width, stride) of D's conv layers; G runs the same list backwards.
D_LAYERS = ((128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2))


def build_dcgan_imagenet32(config: RunConfig) -> tuple[nn.Module, nn.Module]:
    from torch import nn

    from gantk.plugins.architectures.lib.blocks import (
        Discriminator,
        Generator,
        Reshape,
        d_block,
        g_block,
        initialized,
    )

    channels, nz = config.channels or 3, config.nz
    from gantk.contract.options import read
    from gantk.plugins.architectures.lib.options import Imagenet32Options

    width = read(Imagenet32Options, "architecture", "dcgan-imagenet32", config.model).width
    layers = [(w * width // 128, s) for w, s in D_LAYERS]

    blocks = nn.ModuleList()
    cin = channels
    for i, (cout, stride) in enumerate(layers):
        blocks.append(d_block(cin, cout, 3, stride, 1, norm=i > 0))
        cin = cout
    discriminator = Discriminator(blocks, nn.Sequential(nn.Flatten(),
                                                        nn.Linear(cin * 16, 1, bias=False)))

    top = layers[-1][0]
    project = nn.Sequential(nn.Linear(nz, top * 16, bias=False), Reshape(top, 4, 4),
                            nn.BatchNorm2d(top), nn.ReLU(inplace=True))
    # G mirrors D: the layer that consumed width w at stride s in D produces it in G.
    g_layers = [(layers[i - 1][0] if i else channels, s) for i, (_, s) in enumerate(layers)]
    body: list[nn.Module] = []
    cin = top
    for cout, stride in reversed(g_layers[1:]):
        body.append(g_block(cin, cout, 3, stride, 1, stride - 1, norm=True))
        cin = cout
    body.append(nn.Sequential(nn.ConvTranspose2d(cin, channels, 3, g_layers[0][1], 1,
                                                 g_layers[0][1] - 1, bias=False), nn.Tanh()))
    generator = Generator(nz, project, nn.Sequential(*body))
    return initialized(generator, discriminator)


@hookimpl
def register_architectures(register):
    register(ArchitectureSpec(
        name="dcgan-imagenet32",
        build=build_dcgan_imagenet32,
        resolutions=(32,),
        capabilities=CAPABILITIES,
        options=lazy("gantk.plugins.architectures.lib.options:Imagenet32Options"),
        description="the paper's ImageNet-32 DCGAN (Table 1): 3x3 kernels, nz 256, D "
                    "128-128-256-256-512-512 alternating stride 1/2 (28,672 probe features)",
    ))


@hookimpl
def register_presets(register):
    from gantk.plugins.presets import DCGAN

    register(PresetSpec(
        "dcgan-imagenet32",
        {**DCGAN, "architecture": "dcgan-imagenet32", "nz": 256, "resolution": 32},
        "the paper's ImageNet-32 DCGAN for the CIFAR-10 probe (train on imagenet at 32x32)",
    ))
