"""The workspace: one root folder under which every asset writes its artifacts.

Assets keep large things (LMDB stores, checkpoints, figures) here and put only paths and
numbers in Dagster's metadata, so nothing big goes through the pickling IO manager.
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from gantk.home import gantk_home


class Workspace(ConfigurableResource):
    """Where stores, de-dup models and training runs live (default: `GANTK_HOME`)."""

    root: str | None = Field(
        default=None, description="artifact root; default: $GANTK_HOME (~/.gantk)")

    def root_path(self) -> Path:
        return Path(self.root).expanduser() if self.root else gantk_home()

    def store(self, name: str) -> Path:
        """The ImageStore written by the ingest or de-dup asset `name`."""
        return self.root_path() / "stores" / name

    def dedup_dir(self, name: str) -> Path:
        """Hash model, codes and report of the de-duplication of store `name`."""
        return self.root_path() / "dedup" / name

    def run_dir(self, dataset: str, architecture: str, run_id: str) -> Path:
        """A training run of one partition, one folder per Dagster run."""
        return self.root_path() / "runs" / dataset / architecture / run_id[:8]


# Launchers a `trained_model` run config may name without further configuration. The
# `launcher` field runs a command on the machine that runs Dagster, so anyone who can launch
# a run could run anything: only these programs (by name) are accepted unless the
# deployment lists more (see docs/pipelines.md).
DEFAULT_LAUNCHERS = ("torchrun",)


class TrainingPolicy(ConfigurableResource):
    """What a training's run config may launch (the `launcher` field)."""

    allowed_launchers: list[str] = Field(
        default=list(DEFAULT_LAUNCHERS),
        description="programs allowed as the first word of a trained_model `launcher`, "
                    "matched exactly (a bare name, or an absolute path); this Python is "
                    "always allowed")

    def launcher_problem(self, launcher: list[str]) -> str | None:
        """Why `launcher` may not run (one line), or None when it may."""
        import sys

        if not launcher or launcher[0] == sys.executable:
            return None
        program, allowed = launcher[0], set(self.allowed_launchers)
        if program in allowed:  # exactly as listed: `torchrun` is not `/tmp/x/torchrun`
            return None
        return (f"launcher {program!r} is not allowed; allowed: "
                f"{', '.join(sorted(allowed)) or 'none'} (add it to the training_policy "
                "resource's allowed_launchers)")
