"""The built-in architectures' options (`--set model.KEY=VALUE`), validated by the core
before any work; kept apart from the plugin modules so that pydantic is imported only
when options are read (see gantk.contract.options.lazy)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DcganOptions(_Options):
    """`dcgan` and `dcgan-no-bn`."""

    ngf: int | None = Field(None, ge=1, description="G's base width (default: the paper's "
                                                    "for the resolution, 64 or 128)")
    ndf: int | None = Field(None, ge=1, description="D's base width (default: the paper's for "
                                                    "the resolution)")
    kernel: int = Field(5, ge=1, le=9, description="odd kernel size of every (transposed) conv")
    batchnorm: bool = Field(True, description="BatchNorm in G and D (False: the dcgan-no-bn "
                                              "ablation)")
    d_batchnorm: bool | None = Field(None, description="BatchNorm in D alone (default: as "
                                                       "batchnorm; off for a WGAN-GP critic)")

    @field_validator("kernel")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("must be odd (padding keeps the sizes)")
        return value


class DcganPytorchOptions(_Options):
    """`dcgan-pytorch`."""

    ngf: int = Field(64, ge=1, description="G's base width")
    ndf: int = Field(64, ge=1, description="D's base width")


class Imagenet32Options(_Options):
    """`dcgan-imagenet32`."""

    width: int = Field(128, ge=1, description="base width (128 in the paper; narrower for "
                                              "tests), scales every layer")


class MlpGanOptions(_Options):
    """`mlp-gan`."""

    ngf: int = Field(1200, ge=1, description="G's hidden units per layer")
    ndf: int = Field(240, ge=1, description="D's maxout units per layer")
    pieces: int = Field(5, ge=1, description="maxout pieces per unit")
    dropout: bool = Field(True, description="D's dropout (0.2 on the image, 0.5 after)")
