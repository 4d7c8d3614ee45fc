"""The built-in evaluations' options (`-o KEY=VALUE`), validated by the core before any
work. The evaluation bodies read what was given (a result cache keys on it) and fall back
on these defaults. Apart from the plugin modules so that pydantic loads only when options
are read (gantk.contract.options.lazy)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SvmProbeOptions(_Options):
    test: str = Field(description="a labeled test ImageStore")
    rows: str | list[str] = Field("dcgan,pixels,random,kmeans",
                                  description="table rows: dcgan, pixels, random, kmeans, "
                                              "kmeans-F (F features, e.g. kmeans-4800)")
    labels_per_class: int | None = Field(None, ge=1, description="labeled training images "
                                         "per class (semi-supervised table 2; default: all)")
    draws: int = Field(100, ge=1, description="random draws of the labeled subset")
    val_draws: int = Field(10, ge=1, description="draws used to choose C")
    val_size: int | None = Field(None, ge=1, description="validation images (default: "
                                                         "min(10000, a sixth of the store))")
    cs: list[float] | None = Field(None, description="SVM C values tried (default: the "
                                                     "paper's 1e-4 ... 1e-2)")
    batch_size: int = Field(256, ge=1, description="feature extraction batch")
    standardize: bool = Field(True, description="standardize features before the SVM")
    kmeans_k: int = Field(1600, ge=1, description="k-means centroids")
    kmeans_patches: int = Field(100_000, ge=1, description="patches k-means is fitted on")
    kmeans_iterations: int = Field(30, ge=1, description="k-means iterations")
    bn_images: int | Literal["all"] | None = Field(
        "all", description="training images for BatchNorm population statistics (all, or "
                           "a seeded subset of N)")
    report: str | None = Field(None, description="also write the table to this file")
    table: str | None = Field(None, description="the paper's table to compare with "
                                                "(default: table1, or table2 with "
                                                "labels_per_class)")
    keep_features: bool = Field(False, description="keep the extracted features on disk")
    grid: int = Field(4, ge=1, description="max-pool every conv map to grid x grid")
    fresh: bool = Field(False, description="ignore saved row results")
    step: int | None = Field(None, ge=0, description="checkpoint step (default: the latest)")


class ProbeCurveOptions(_Options):
    test: str = Field(description="a labeled test ImageStore")
    steps: str | int | list[int] = Field("all", description="checkpoint steps probed: all, "
                                         "a list (468,2340), or every=N")
    every: int | None = Field(None, ge=1, description="probe every N steps' checkpoint")
    refs: str | list[str] = Field("random,kmeans-4800", description="flat reference rows "
                                  "(random, pixels, kmeans, kmeans-F) or none")
    labels_per_class: int | Literal["all"] = Field(100, description="labeled training "
                                                   "images per class (1000-label protocol)")
    draws: int = Field(20, ge=1, description="random draws of the labeled subset")
    val_draws: int = Field(5, ge=1, description="draws used to choose C")
    val_size: int | None = Field(None, ge=1, description="validation images")
    cs: list[float] | None = Field(None, description="SVM C values tried")
    batch_size: int = Field(256, ge=1, description="feature extraction batch")
    standardize: bool = Field(True, description="standardize features before the SVM")
    kmeans_k: int = Field(1600, ge=1, description="k-means centroids (row kmeans)")
    kmeans_patches: int = Field(100_000, ge=1, description="patches k-means is fitted on")
    kmeans_iterations: int = Field(30, ge=1, description="k-means iterations")
    bn_images: int | Literal["all"] | None = Field("all", description="training images for "
                                                   "BatchNorm population statistics")
    grid: int = Field(4, ge=1, description="max-pool every conv map to grid x grid")
    keep_features: bool = Field(False, description="keep the extracted features on disk")
    fresh: bool = Field(False, description="ignore saved results")
    epoch_steps: float | None = Field(None, gt=0, description="steps per epoch for the x "
                                      "axis (default: from the run's store and batch)")
    report: str | None = Field(None, description="also write the table to this file")
    figure: str | None = Field(None, description="also write the plot to this file")


class SampleQualityOptions(_Options):
    n: int = Field(10_000, ge=2, description="images per side")
    network: str = Field("fid-helper", description="feature network: fid-helper or a "
                                                   "TorchScript file")
    batch_size: int = Field(50, ge=1, description="images per forward pass")
    net_size: int | None = Field(None, ge=1, description="input size of a TorchScript network")
    net_range: list[float] | None = Field(None, min_length=2, max_length=2,
                                          description="input range of a TorchScript network")
    subsets: int = Field(100, ge=1, description="KID subsets")
    subset_size: int = Field(1000, ge=2, description="KID subset size")
    k: int = Field(5, ge=1, description="PRDC: neighbours defining each manifold's radius")
    max_n: int = Field(5000, ge=2, description="PRDC: images per side at most (N x N "
                                               "distances)")


class NearestOptions(_Options):
    grid: int = Field(16, ge=1, description="samples shown")
    k: int = Field(5, ge=1, description="neighbours per sample")
    n: int = Field(1000, ge=1, description="samples measured")
    max_train: int | None = Field(None, ge=1, description="training images searched "
                                                          "(default: all)")
    batch_size: int = Field(4096, ge=1, description="training images per distance batch")
