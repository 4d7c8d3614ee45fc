"""The `ingest` group: `image_store`, partitioned by dataset, a thin call of
`gantk.ingest.engine.ingest` per partition.

Partitions are the registered dataset sources (the same keys as the trained model's
`dataset` dimension), so a model's lineage names its own dataset only. Each partition reads
its source path from run config (`src`) or from its environment variable
(`GANTK_<NAME>_SRC`, e.g. GANTK_LSUN_BEDROOMS_SRC); sources that know where their data is
installed (the Fashion-MNIST demo) need neither.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    asset,
)
from pydantic import Field

from gantk.contract.registry import Registry
from gantk.pipelines.checks import STORE_CHECK, store_intact
from gantk.pipelines.conventions import INGEST_CODE_VERSION, OWNERS
from gantk.pipelines.failures import one_line
from gantk.pipelines.metadata import log_progress, store_metadata
from gantk.pipelines.resources import Workspace

GROUP = "ingest"
STORE = "image_store"
STORE_KEY = AssetKey(STORE)


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


def dataset_partitions(registry: Registry) -> StaticPartitionsDefinition:
    """One partition per registered dataset source: the store's and the model's `dataset`."""
    return StaticPartitionsDefinition(registry.names("dataset"))


def dataset_asset(registry: Registry, source: str) -> DatasetAsset:
    """The naming (store folder, variable, paper size) of registered dataset `source`."""
    for dataset in dataset_assets(registry):
        if dataset.source == source:
            return dataset
    return DatasetAsset(asset_name(source), source)


def source_path(dataset: DatasetAsset, configured: str | None) -> str | None:
    """The configured path, else the environment variable, else None (the source's default).

    A source without a default of its own fails with a message naming the variable to set;
    a path from the variable that does not exist names the variable too.
    """
    if configured:
        return configured
    from_env = os.environ.get(dataset.env_var)
    if from_env:
        if not Path(from_env).expanduser().exists():
            raise Failure(f"{dataset.source}: {dataset.env_var}={from_env} does not exist; "
                          f"point {dataset.env_var} at the {dataset.source} data")
        return from_env
    from gantk.contract.registry import get_registry

    registry = get_registry()
    spec = registry.dataset(dataset.source) if dataset.source in registry.names("dataset") else None
    if spec is None or spec.default_path is None or spec.default_path() is None:
        raise Failure(f"{dataset.source}: no source path; set {dataset.env_var}=/path/to/data "
                      f"or give the run config ops.{STORE}.config.src")
    return None


def store_description(registry: Registry) -> str:
    rows = "\n".join(f"| `{d.source}` | `{d.env_var}` | {d.description or d.source} |"
                      for d in dataset_assets(registry))
    return ("Each dataset ingested into an LMDB ImageStore by `gantk.ingest`. A partition "
            "reads its data from run config `src`, else its variable:\n\n"
            "| partition | variable | data |\n|---|---|---|\n" + rows)


def store_asset(registry: Registry, partitions: StaticPartitionsDefinition) -> AssetsDefinition:
    @asset(name=STORE, group_name=GROUP, kinds={"lmdb"}, partitions_def=partitions,
           owners=OWNERS, code_version=INGEST_CODE_VERSION,
           check_specs=[AssetCheckSpec(STORE_CHECK, asset=STORE_KEY, blocking=True,
                                       partitions_def=partitions,
                                       description="the store's count matches its metadata "
                                                   "and a random sample of images decodes")],
           description=store_description(registry))
    def image_store(context: AssetExecutionContext, config: IngestConfig,
                    workspace: Workspace) -> MaterializeResult:
        from gantk.contract.registry import get_registry
        from gantk.ingest.engine import REPORT_NAME, ingest
        from gantk.training.config import parse_options

        dataset = dataset_asset(get_registry(), context.partition_key)
        src = source_path(dataset, config.src)
        dest = workspace.store(dataset.name)
        hint = (f"path from {dataset.env_var}" if not config.src and src else "")
        with one_line(dataset.source, hint):
            summary = ingest(dataset.source, src, dest,
                             resolution=config.resolution or dataset.resolution,
                             limit=config.limit, overwrite=config.overwrite,
                             options=parse_options(config.options),
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
        check = store_intact(dest, int(metadata["count"].value))
        return MaterializeResult(metadata=metadata, check_results=[check],
                                 data_version=DataVersion(str(metadata["fingerprint"])))

    return image_store


def store_of_dataset(workspace: Workspace, registry: Registry, source: str) -> tuple[str, Path]:
    """The store folder name and path that hold registered dataset source `source`."""
    name = dataset_asset(registry, source).name
    return name, workspace.store(name)
