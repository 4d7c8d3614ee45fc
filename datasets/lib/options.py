"""The built-in dataset sources' options (`gantk ingest NAME SRC DEST -o KEY=VALUE`, the
Dagster ingest config's `options`), validated by the core before anything is read, so a
misspelt `-o spilt=test` is refused instead of ingesting the default split. Apart from
the source modules so that pydantic loads only when options are read
(gantk.contract.options.lazy)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(_Options):
    """A source that takes no options (digits, lsun)."""


class IdxOptions(_Options):
    split: Literal["train", "test", "all"] = Field("train", description="which IDX files: "
                                                   "train, test or all (train first)")


class Cifar10Options(_Options):
    split: Literal["train", "test", "all"] = Field("train", description="train (5 batches), "
                                                   "test or all")


class SvhnOptions(_Options):
    split: Literal["train", "test", "extra", "all"] = Field(
        "train", description="which *_32x32.mat when SRC is their folder")


class ImagenetOptions(_Options):
    split: str = Field("train", description="the split folder under SRC (e.g. train, val) "
                                            "when SRC holds one")


class FolderOptions(_Options):
    labels: bool = Field(False, description="label each image by its first sub-folder")


class FacesOptions(_Options):
    min_size: int = Field(64, ge=0, description="photos: keep detected faces at least this "
                                                "many pixels wide")
    margin: float = Field(0.25, ge=0, description="photos: grow each face's square by this "
                                                  "share of its side on every side")
    min_neighbors: int = Field(5, ge=0, description="photos: the Haar detector's "
                                                    "minNeighbors")
    scale_factor: float = Field(1.1, gt=1, description="photos: the Haar detector's "
                                                       "scaleFactor")
    detect_side: int = Field(1024, ge=0, description="photos: detect on a copy at most this "
                                                     "many pixels on its long side (0: as is)")
    split: Literal["all", "train", "valid", "test"] = Field(
        "all", description="CelebA: list_eval_partition.txt's split")
    label: str | None = Field(None, description="CelebA: identity, or an attribute such as "
                                                "Smiling (default: no labels)")
