"""The built-in visualizations' options (`-o KEY=VALUE` or `--KEY VALUE`), validated by
the core before any work. Apart from the plugin modules so that pydantic loads only when
options are read (gantk.contract.options.lazy)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _numbers(value: Any) -> Any:
    """`3,17,42`, `[3, 17, 42]` or `3` as a list (the items are then checked as ints)."""
    if isinstance(value, str):
        return [v for v in value.replace(" ", "").split(",") if v != ""]
    return value if isinstance(value, list) else [value]


# sample numbers of the numbered `samples` grid
SampleNumbers = Annotated[list[Annotated[int, Field(ge=0)]], BeforeValidator(_numbers),
                          Field(min_length=1)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SamplesOptions(_Options):
    # one grid PNG holds every sample: bounded so a typo (-o n=100000000) cannot eat the memory
    n: int = Field(64, ge=1, le=4096, description="how many samples (at most 4096; more: "
                                                  "several calls with other seeds)")
    nrow: int | None = Field(None, ge=1, description="images per row (default: square)")
    scale: int = Field(2, ge=1, le=16, description="pixel zoom")


class LatentWalkOptions(_Options):
    points: SampleNumbers = Field(list(range(9)), description="sample numbers to walk through")
    steps: int = Field(10, ge=1, description="frames per leg, both ends included")
    slerp: bool = Field(False, description="spherical instead of linear interpolation")


class GuidedBackpropOptions(_Options):
    images: int = Field(8, ge=1, description="how many real images")
    features: int = Field(6, ge=1, description="how many of the strongest last-layer features")


class FilterAblationOptions(_Options):
    boxes: str = Field(description="JSON file of boxes per sample number (see the docs)")
    layer: int = Field(-2, description="index into Generator.hidden(z) (-2: the "
                                       "second-highest conv)")
    show: SampleNumbers | None = Field(None, description="sample numbers to show (default: "
                                                         "those with boxes, at most 16)")


class TrainingCurvesOptions(_Options):
    smooth: int | None = Field(None, ge=1, description="moving-average window in logged "
                                                       "points (default: 1/50 of the run)")


class VectorArithmeticOptions(_Options):
    a: SampleNumbers | None = Field(None, description="sample numbers of concept A, e.g. "
                                                      "3,17,42 (default 0,1,2)")
    b: SampleNumbers | None = Field(None, description="sample numbers of concept B, "
                                                      "subtracted (default 3,4,5)")
    c: SampleNumbers | None = Field(None, description="sample numbers of concept C, added "
                                                      "(default 6,7,8)")
    noise: float = Field(0.25, ge=0, description="half-width of the uniform noise around "
                                                 "the result")
    exemplars: str | None = Field(None, description="an exemplars.json written earlier: draw "
                                                    "exactly that figure again")
