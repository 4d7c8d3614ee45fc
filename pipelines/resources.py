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
