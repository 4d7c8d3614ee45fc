"""The `train` group: trained models partitioned by dataset x architecture.

Both dimensions come from the plugin registry, so an installed third-party architecture or
dataset source becomes a partition without edits here. Training runs in its own process
through Dagster Pipes (`gantk run …`, which reports logs, metrics and the result back), so
the same asset can launch `torchrun` through `launcher`, or move to a cluster Pipes client.
Trainings share the `gpu` concurrency pool so that two never fight over one GPU.
"""

import os
import shlex
import sys
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PipesSubprocessClient,
    StaticPartitionsDefinition,
    asset,
)
from dagster._core.errors import (
    DagsterPipesExecutionError,  # what a failed Pipes process raises; not exported
)
from pydantic import Field

from gantk.contract.registry import Registry
from gantk.pipelines.checks import no_nan, not_collapsed, training_check_specs
from gantk.pipelines.dedup import DEDUP_STORE
from gantk.pipelines.ingest import store_of_dataset
from gantk.pipelines.metadata import png_markdown, upstream_path
from gantk.pipelines.resources import Workspace
from gantk.training.request import RunRequest

GROUP = "train"
ASSET = "trained_model"
KEY = AssetKey(ASSET)
DATASET, ARCHITECTURE = "dataset", "architecture"
FALLBACK_PRESET = "dcgan"
ALLOWED_LAUNCHERS_ENV = "GANTK_ALLOWED_LAUNCHERS"
DEFAULT_LAUNCHERS = ("torchrun",)


def train_partitions(registry: Registry) -> MultiPartitionsDefinition:
    """dataset x architecture, from whatever the registry holds right now."""
    return MultiPartitionsDefinition({
        DATASET: StaticPartitionsDefinition(registry.names("dataset")),
        ARCHITECTURE: StaticPartitionsDefinition(registry.names("architecture")),
    })


def partition_dims(context: AssetExecutionContext) -> tuple[str, str]:
    """(dataset, architecture) of the partition being materialized."""
    key = context.partition_key
    if not isinstance(key, MultiPartitionKey):
        key = context.assets_def.partitions_def.get_partition_key_from_str(key)
    dims = key.keys_by_dimension
    return dims[DATASET], dims[ARCHITECTURE]


class TrainConfig(Config):
    """Run config of a training (the knobs of `gantk run`)."""

    preset: str | None = Field(None, description="preset to start from; default: the preset "
                               "named like the architecture, else dcgan")
    steps: int | None = Field(None, description="generator updates; default: the preset's")
    batch_size: int | None = None
    device: str = Field("auto", description="cpu, cuda or auto")
    seed: int | None = None
    overrides: list[str] = Field(default_factory=list,
                                 description="config key=value, as `gantk run --set`")
    resume: bool = Field(False, description="continue this partition's latest run")
    launcher: list[str] = Field(default_factory=list, description="command before `-m gantk`, "
                                "e.g. ['torchrun', '--nproc-per-node=2']; default: this Python")


def train_request(config: TrainConfig, preset: str, architecture: str, store: Path | None,
                  run_dir: Path | None) -> RunRequest:
    """What one partition asks the core training function for."""
    flags = {"steps": config.steps, "batch_size": config.batch_size,
             "device": config.device, "seed": config.seed}
    return RunRequest(preset, store, run_dir, config.resume, flags,
                      [f"architecture={architecture}", *config.overrides])


def allowed_launchers() -> set[str]:
    """Programs the run config's `launcher` may name: anyone who can launch a run in the
    UI could otherwise run any command on this machine. `GANTK_ALLOWED_LAUNCHERS` (comma-
    separated, matched exactly) is set where Dagster runs, not in the UI."""
    configured = os.environ.get(ALLOWED_LAUNCHERS_ENV, "")
    names = {n.strip() for n in configured.split(",") if n.strip()}
    return (names or set(DEFAULT_LAUNCHERS)) | {sys.executable}


def train_command(config: TrainConfig, request: RunRequest) -> list[str]:
    """The Pipes process: `gantk.pipelines.train_process` with the request, behind the
    launcher (this Python, or e.g. torchrun), which must be an allowed one."""
    if config.launcher and config.launcher[0] not in allowed_launchers():
        allowed = ", ".join(sorted(allowed_launchers()))
        raise Failure(f"{ASSET}: launcher {config.launcher[0]!r} is not allowed (allowed: "
                      f"{allowed}); an administrator can add it to {ALLOWED_LAUNCHERS_ENV} "
                      "in the environment Dagster runs in")
    return [*(config.launcher or [sys.executable]), "-m", "gantk.pipelines.train_process",
            request.to_json()]


def check_request_or_fail(request: RunRequest) -> None:
    """Fail before launching anything on what the core would reject (one line)."""
    from gantk.errors import GantkError
    from gantk.training.request import check_request

    try:
        check_request(request)
    except GantkError as exc:
        raise Failure(f"{ASSET}: {exc}") from None


def training_store(workspace: Workspace, registry: Registry, dataset: str) -> tuple[str, Path]:
    """The asset and store a partition trains on (LSUN: the de-duplicated one when built)."""
    from gantk.store import is_store

    name, store = store_of_dataset(workspace, registry, dataset)
    if dataset == "lsun" and is_store(workspace.store(DEDUP_STORE)):
        return DEDUP_STORE, workspace.store(DEDUP_STORE)
    if not is_store(store):
        raise Failure(f"no ImageStore for dataset {dataset!r} at {store}; materialize the "
                      f"ingest asset {name!r} first")
    return name, store


def train_asset(partitions: MultiPartitionsDefinition,
                upstream: list[AssetKey]) -> AssetsDefinition:
    @asset(name=ASSET, group_name=GROUP, partitions_def=partitions,
           deps=upstream, pool="gpu", kinds={"pytorch"}, check_specs=training_check_specs(KEY),
           description="a GAN trained by `gantk run` in a Dagster Pipes subprocess")
    def trained_model(context: AssetExecutionContext, config: TrainConfig,
                      workspace: Workspace,
                      pipes_subprocess_client: PipesSubprocessClient) -> MaterializeResult:
        from gantk.contract.registry import get_registry

        reg = get_registry()
        dataset, architecture = partition_dims(context)
        preset = config.preset or (architecture if architecture in reg.names("preset")
                                   else FALLBACK_PRESET)
        # names and values first: a bad launch is refused before anything is looked up
        check_request_or_fail(train_request(config, preset, architecture, None, None))
        source, store = training_store(workspace, reg, dataset)
        if config.resume:
            run_dir = upstream_path(context.instance, KEY, "run_dir", context.partition_key)
        else:
            run_dir = workspace.run_dir(dataset, architecture, context.run.run_id)
        request = train_request(config, preset, architecture, store, run_dir)
        command = train_command(config, request)
        context.log.info(f"launching {shlex.join(command)}")
        try:
            reported = pipes_subprocess_client.run(command=command,
                                                   context=context).get_materialize_result()
        except DagsterPipesExecutionError:
            raise Failure(f"{ASSET}: training failed; its error is the last line of the "
                          "step's log") from None
        run_dir = Path(reported.metadata["run_dir"].value)
        metadata = {**reported.metadata,
                    "samples": png_markdown(run_dir / "samples" / "final.png", "samples"),
                    "preset": preset, "dataset": dataset, "trained_on": source,
                    "command": MetadataValue.text(shlex.join(command))}
        return MaterializeResult(metadata=metadata,
                                 check_results=[no_nan(run_dir), not_collapsed(run_dir)])

    return trained_model
