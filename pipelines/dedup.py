"""The `dedup` group: the paper's semantic-hash de-duplication of LSUN bedrooms (§4.1.1).

Three assets, so each stage can be re-run alone: the autoencoder hash model, the binary
codes of every image, and the de-duplicated store. Each is a thin call into
`gantk.datasets.dedup` (imported inside the bodies, so the graph loads without torch).
"""

from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    SpecificPartitionsPartitionMapping,
    asset,
)
from pydantic import Field

from gantk.datasets.dedup import settings as S
from gantk.pipelines.checks import DEDUP_CHECK, dedup_rate
from gantk.pipelines.conventions import DEDUP_CODE_VERSION, OWNERS, Device
from gantk.pipelines.failures import one_line
from gantk.pipelines.ingest import STORE_KEY
from gantk.pipelines.metadata import (
    floats,
    log_progress,
    png_markdown,
    store_metadata,
    upstream_path,
)
from gantk.pipelines.resources import Workspace

GROUP = "dedup"
SOURCE = "lsun_bedrooms"  # the folder of the LSUN store and of its de-dup artifacts
LSUN = "lsun"  # its image_store partition
LSUN_STORE = AssetDep(STORE_KEY, partition_mapping=SpecificPartitionsPartitionMapping([LSUN]))
COMMON = {"group_name": GROUP, "owners": OWNERS, "code_version": DEDUP_CODE_VERSION}
HASH_MODEL = "lsun_hash_model"
HASH_CODES = "lsun_hash_codes"
DEDUP_STORE = "lsun_bedrooms_dedup"


def _field(setting: S.Setting) -> Any:
    """A run-config field with the setting's one home for default and help."""
    return Field(setting.default, description=setting.help)


class HashModelConfig(Config):
    sample: int = _field(S.SAMPLE)
    epochs: int = _field(S.EPOCHS)
    min_steps: int = _field(S.MIN_STEPS)
    max_steps: int | None = _field(S.MAX_STEPS)
    converge: bool = _field(S.CONVERGE)
    seed: int = _field(S.SEED)
    device: Device = Field(Device(S.DEVICE.default), description="cpu, cuda or auto")


class CodesConfig(Config):
    batch_size: int = 512
    device: Device = Field(Device(S.DEVICE.default), description="cpu, cuda or auto")
    variants: int = _field(S.VARIANTS)
    workers: int | None = _field(S.WORKERS)


class DedupConfig(Config):
    overwrite: bool = Field(True, description="replace an earlier de-duplicated store")
    radius: int = _field(S.RADIUS)
    verify: str = _field(S.VERIFY)
    threshold: float = _field(S.THRESHOLD)
    thumb: int = _field(S.THUMB)


def lsun_store(context: AssetExecutionContext):
    """The LSUN partition of image_store, as its latest materialization recorded it."""
    return upstream_path(context.instance, STORE_KEY, partition=LSUN)


@asset(name=HASH_MODEL, **COMMON, deps=[LSUN_STORE], kinds={"pytorch"}, pool="gpu",
       description="3072-128-3072 de-noising autoencoder on 32x32 crops (the semantic hash)")
def hash_model(context: AssetExecutionContext, config: HashModelConfig,
               workspace: Workspace) -> MaterializeResult:
    from gantk.datasets.dedup import train_hash_model

    store = lsun_store(context)
    with one_line(HASH_MODEL):
        path = train_hash_model(store, workspace.dedup_dir(SOURCE), sample=config.sample,
                                epochs=config.epochs, min_steps=config.min_steps,
                                max_steps=config.max_steps, converge=config.converge,
                                seed=config.seed, device=Device(config.device).value,
                                progress=log_progress(context.log.info, "hash model"))
    # the settings as text: Dagster plots numbers across materializations
    settings = f"sample={config.sample} epochs={config.epochs} seed={config.seed}"
    return MaterializeResult(metadata={"path": MetadataValue.path(str(path)),
                                       "settings": MetadataValue.text(settings)})


@asset(name=HASH_CODES, **COMMON, deps=[HASH_MODEL], kinds={"numpy"}, pool="gpu",
       description="binarized code-layer activations of every image")
def hash_codes(context: AssetExecutionContext, config: CodesConfig,
               workspace: Workspace) -> MaterializeResult:
    from gantk.datasets.dedup import compute_codes

    store = lsun_store(context)
    model = upstream_path(context.instance, AssetKey(HASH_MODEL))
    with one_line(HASH_CODES):
        path = compute_codes(store, model, workspace.dedup_dir(SOURCE) / "codes",
                             batch_size=config.batch_size,
                             device=Device(config.device).value,
                             variants=config.variants, workers=config.workers,
                             progress=log_progress(context.log.info, "hash codes"))
    return MaterializeResult(metadata={"path": MetadataValue.path(str(path)),
                                       "model": MetadataValue.path(str(model))})


@asset(name=DEDUP_STORE, **COMMON, deps=[LSUN_STORE, HASH_CODES], kinds={"lmdb"},
       check_specs=[AssetCheckSpec(DEDUP_CHECK, asset=DEDUP_STORE,
                                   description="removed some images, but not most of them")],
       description="LSUN bedrooms without its near-duplicates")
def dedup_store(context: AssetExecutionContext, config: DedupConfig,
                workspace: Workspace) -> MaterializeResult:
    from gantk.datasets.dedup import deduplicate

    store = lsun_store(context)
    codes = upstream_path(context.instance, AssetKey(HASH_CODES))
    dest = workspace.store(DEDUP_STORE)
    with one_line(DEDUP_STORE):
        summary = deduplicate(store, codes, dest,
                              report=workspace.dedup_dir(SOURCE) / "report.json",
                              overwrite=config.overwrite, radius=config.radius,
                              verify=config.verify, threshold=config.threshold,
                              thumb=config.thumb,
                              progress=log_progress(context.log.info, "de-dup"))
    metadata = {**floats(summary.metadata()), **store_metadata(dest),
                "removed": MetadataValue.int(summary.removed),
                "groups": MetadataValue.int(summary.groups)}
    if summary.report:
        metadata["report"] = MetadataValue.path(str(summary.report))
    if summary.contact_sheet:
        metadata["contact_sheet"] = png_markdown(summary.contact_sheet, "near duplicates")
        metadata["contact_sheet_path"] = MetadataValue.path(str(summary.contact_sheet))
    return MaterializeResult(metadata=metadata,
                             data_version=DataVersion(str(metadata["fingerprint"])),
                             check_results=[dedup_rate(summary.total, summary.removed)])


DEDUP_ASSETS = [hash_model, hash_codes, dedup_store]
