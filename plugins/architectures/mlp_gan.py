"""`mlp-gan`: the fully connected GAN of Goodfellow et al. 2014, the DCGAN paper's main
baseline, shaped as goodfeli/adversarial mnist.yaml.

G: z -> 1200 ReLU -> 1200 ReLU -> C*H*W, tanh (the original's sigmoid on [0, 1] data,
rescaled to the [-1, 1] contract). D: maxout 240 units x 5 pieces -> maxout 240 x 5 ->
1 logit, dropout on every layer's input (keep 0.8 on the image, 0.5 after). Weights
U(-0.05, 0.05) in G and U(-0.005, 0.005) in D, biases 0, as in the yaml. The CIFAR-10
variant (cifar10_fully_connected.yaml) is `model.ngf=8000 model.ndf=1600`.

Options: `model.ngf` (G hidden units), `model.ndf` (D maxout units), `model.pieces`,
`model.dropout` (False turns D's dropout off).

`D.features(x)` returns the two hidden maxout layers' activations, each `(N, ndf)`: an MLP
has no conv maps, so "features" are the flat hidden-layer vectors (before dropout).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import ArchitectureSpec

if TYPE_CHECKING:
    from torch import nn

    from gantk.training.config import RunConfig

RESOLUTIONS = (32, 64)
G_INIT, D_INIT = 0.05, 0.005
DROP_INPUT, DROP_HIDDEN = 0.2, 0.5


def build_mlp_gan(config: RunConfig) -> tuple[nn.Module, nn.Module]:
    res, channels = config.resolution or 64, config.channels or 3
    from gantk.contract.options import read
    from gantk.plugins.architectures.lib.options import MlpGanOptions

    opts = read(MlpGanOptions, "architecture", "mlp-gan", config.model)
    hidden, units, pieces, dropout = opts.ngf, opts.ndf, opts.pieces, opts.dropout
    from gantk.plugins.architectures.lib.mlp_blocks import (
        MLPDiscriminator,
        MLPGenerator,
        uniform_init,
    )

    generator = MLPGenerator(config.nz, hidden, (channels, res, res))
    discriminator = MLPDiscriminator(channels * res * res, units, pieces,
                                     DROP_INPUT if dropout else 0.0,
                                     DROP_HIDDEN if dropout else 0.0)
    uniform_init(generator, G_INIT)
    uniform_init(discriminator, D_INIT)
    return generator, discriminator


@hookimpl
def register_architectures(register):
    register(ArchitectureSpec(
        name="mlp-gan",
        build=build_mlp_gan,
        resolutions=RESOLUTIONS,
        capabilities=("features",),  # flat hidden vectors; no conv maps to ablate
        options=lazy("gantk.plugins.architectures.lib.options:MlpGanOptions"),
        description="Goodfellow et al. 2014's fully connected GAN: ReLU MLP generator, "
                    "maxout + dropout discriminator (the DCGAN paper's baseline)",
    ))
