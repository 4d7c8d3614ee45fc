"""`dcgan-no-bn`: the paper's DCGAN with every BatchNorm removed (the paper's stability
claim rests on BatchNorm; this makes that ablation runnable). Layers get their own biases
in place of BatchNorm's shift. Same builder as `dcgan`, called with `batchnorm=False`."""

from __future__ import annotations

from functools import partial

from gantk import hookimpl
from gantk.contract.specs import ArchitectureSpec
from gantk.plugins.architectures.dcgan import CAPABILITIES, OPTIONS, RESOLUTIONS, build_dcgan


@hookimpl
def register_architectures(register):
    register(ArchitectureSpec(
        name="dcgan-no-bn",
        build=partial(build_dcgan, batchnorm=False),
        resolutions=RESOLUTIONS,
        capabilities=CAPABILITIES,
        options=OPTIONS,
        description="the paper's DCGAN without batch normalization (ablation), with biases",
    ))
