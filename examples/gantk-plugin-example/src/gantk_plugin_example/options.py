"""Typed options: gantk validates `--set model.KEY=VALUE` and `-o KEY=VALUE` against these
before any work, so a bad value is one line that lists the options (never a traceback).
Named lazily in plugin.py, so pydantic is imported only when options are read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UpsampleOptions(BaseModel):
    """`example-upsample`'s `--set model.KEY=VALUE`."""

    model_config = ConfigDict(extra="forbid")

    ngf: int = Field(64, ge=1, description="G's base width")
    ndf: int = Field(64, ge=1, description="D's base width")


class SampleStatsOptions(BaseModel):
    """`example-sample-stats`'s `-o KEY=VALUE`."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(64, ge=2, description="how many samples to measure")
