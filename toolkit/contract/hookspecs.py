"""The plugin hooks. Each receives a `register` callable (or the Typer app) and calls it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

from gantk import PROJECT
from gantk.contract.specs import (
    ArchitectureSpec,
    DatasetSpec,
    EvalSpec,
    LossSpec,
    PresetSpec,
    TrackerSpec,
)

if TYPE_CHECKING:
    import typer

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def register_architectures(register: Callable[[ArchitectureSpec], None]) -> None:
    """Register architectures: `register(ArchitectureSpec(...))`."""


@hookspec
def register_losses(register: Callable[[LossSpec], None]) -> None:
    """Register adversarial losses: `register(LossSpec(...))`."""


@hookspec
def register_evals(register: Callable[[EvalSpec], None]) -> None:
    """Register evaluations and visualizations: `register(EvalSpec(...))`."""


@hookspec
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register dataset sources: `register(DatasetSpec(...))`."""


@hookspec
def register_presets(register: Callable[[PresetSpec], None]) -> None:
    """Register named run configurations: `register(PresetSpec(...))`."""


@hookspec
def register_trackers(register: Callable[[TrackerSpec], None]) -> None:
    """Register metric sinks a run can log to: `register(TrackerSpec(...))`."""


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add sub-commands to the `gantk` Typer app (`app.command()`, `app.add_typer()`)."""
