"""The `ingest` group: one asset per dataset, each a thin call of `gantk.ingest.engine.ingest`.

Each asset reads its source path from run config (`src`) or from its environment variable
(`GANTK_<ASSET>_SRC`); sources that know where their data is installed (the Fashion-MNIST
demo) need neither. Dataset sources installed by plugins get an asset of their own too.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from gantk.contract.registry import Registry
from gantk.pipelines.metadata import log_progress, store_metadata
from gantk.pipelines.resources import Workspace

GROUP = "ingest"


@dataclass(frozen=True)
class DatasetAsset:
    """An ingest asset: its name, the registered source it reads, the paper's image size."""

    name: str
    source: str
    resolution: int | None = None
    description: str = ""

    @property
    def env_var(self) -> str:
        return f"GANTK_{self.name.upper()}_SRC"


# The paper's datasets (section 4) and the embedded demo; sizes as the paper trained them.
PAPER_DATASETS = (
    DatasetAsset("lsun_bedrooms", "lsun", 64, "LSUN bedrooms (the LMDB of webp images), 64x64"),
    DatasetAsset("imagenet", "imagenet", 32, "ImageNet-1k, min-resized center crops, 32x32"),
    DatasetAsset("faces", "faces", 64, "face crops from web images, 64x64"),
    DatasetAsset("cifar10", "cifar10", 32, "CIFAR-10 (the python pickles), 32x32"),
    DatasetAsset("svhn", "svhn", 32, "SVHN (the .mat files), 32x32"),
    DatasetAsset("fashion_mnist", "fashion-mnist", None,
                 "the embedded demo: Fashion-MNIST from Debian's dataset-fashion-mnist"),
)


def asset_name(name: str) -> str:
    """A registry name as a Dagster asset name (letters, digits, underscores)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def dataset_assets(registry: Registry) -> list[DatasetAsset]:
    """The paper's datasets plus one asset per other registered dataset source."""
    covered = {d.source for d in PAPER_DATASETS}
    extra = [DatasetAsset(asset_name(n), n, None, registry.dataset(n).description)
             for n in registry.names("dataset") if n not in covered]
    return [*PAPER_DATASETS, *extra]


class IngestConfig(Config):
    """Run config of an ingest asset (the same knobs as `gantk ingest`)."""

    src: str | None = Field(None, description="the source data's location; default: the "
                            "asset's GANTK_<ASSET>_SRC environment variable")
    resolution: int | None = Field(None, description="image size; default: the paper's")
    limit: int | None = Field(None, description="stop after N inputs")
    overwrite: bool = Field(False, description="replace a different store at the destination")
    options: list[str] = Field(default_factory=list, description="source options key=value")


def source_path(dataset: DatasetAsset, configured: str | None) -> str | None:
    """The configured path, else the environment variable, else None (the source's default).

    A source without a default of its own fails with a message naming the variable to set.
    """
    if configured:
        return configured
    if os.environ.get(dataset.env_var):
        return os.environ[dataset.env_var]
    from gantk.contract.registry import get_registry

    registry = get_registry()
    spec = registry.dataset(dataset.source) if dataset.source in registry.names("dataset") else None
    if spec is None or spec.default_path is None or spec.default_path() is None:
        raise Failure(f"{dataset.name}: no source path; set {dataset.env_var}=/path/to/data "
                      f"or give the run config ops.{dataset.name}.config.src")
    return None


def ingest_asset(dataset: DatasetAsset) -> AssetsDefinition:
    @asset(name=dataset.name, group_name=GROUP, kinds={"lmdb"},
           description=f"{dataset.description or dataset.source} -> ImageStore "
                       f"(source {dataset.source!r}; path from {dataset.env_var})")
    def _ingest(context: AssetExecutionContext, config: IngestConfig,
                workspace: Workspace) -> MaterializeResult:
        from gantk.ingest.engine import REPORT_NAME, ingest
        from gantk.training.config import parse_options

        src = source_path(dataset, config.src)
        dest = workspace.store(dataset.name)
        summary = ingest(dataset.source, src, dest,
                         resolution=config.resolution or dataset.resolution, limit=config.limit,
                         overwrite=config.overwrite, options=parse_options(config.options),
                         progress=log_progress(context.log.info, f"ingest {dataset.name}"))
        context.log.info(summary.line())
        metadata = store_metadata(dest)
        skipped = summary.skipped if isinstance(summary.skipped, int) else len(summary.skipped)
        metadata.update({
            "ingested": MetadataValue.int(summary.ingested),
            "skipped": MetadataValue.int(skipped),
            "duplicates": MetadataValue.int(summary.duplicates),
            "already_present": MetadataValue.int(getattr(summary, "already_present", 0)),
            "report": MetadataValue.path(str(dest / REPORT_NAME)),
        })
        return MaterializeResult(metadata=metadata,
                                 data_version=DataVersion(str(metadata["fingerprint"])))

    return _ingest


def ingest_assets(registry: Registry) -> list[AssetsDefinition]:
    return [ingest_asset(d) for d in dataset_assets(registry)]


def store_of_dataset(workspace: Workspace, registry: Registry, source: str) -> tuple[str, Path]:
    """The ingest asset name and store that hold registered dataset source `source`."""
    for dataset in dataset_assets(registry):
        if dataset.source == source:
            return dataset.name, workspace.store(dataset.name)
    return asset_name(source), workspace.store(asset_name(source))
