"""The `train` group: trained models partitioned by dataset x architecture.

Both dimensions come from the plugin registry, so an installed third-party architecture or
dataset source becomes a partition without edits here. Each partition depends on its own
dataset's `image_store` partition only (a `MultiToSingleDimensionPartitionMapping`).
Training runs in its own process through Dagster Pipes (`gantk.pipelines.train_process`,
which reports logs, metrics and the result back), so the same asset can launch `torchrun`
through an allowed `launcher`. Trainings share the `gpu` concurrency pool so that two never
fight over one GPU.
"""

import shlex
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    PipesSubprocessClient,
    StaticPartitionsDefinition,
    multi_asset,
)
from dagster._core.errors import (
    DagsterPipesExecutionError,  # what a failed Pipes process raises; not exported
)
from pydantic import Field

from gantk.contract.registry import Registry
from gantk.pipelines.automation import follow_store
from gantk.pipelines.checks import (
    fid_within,
    no_nan,
    not_collapsed,
    training_check_specs,
)
from gantk.pipelines.conventions import OWNERS, TRAIN_CODE_VERSION, Device, model_tags
from gantk.pipelines.ingest import STORE, STORE_KEY, store_of_dataset
from gantk.pipelines.metadata import READABLE_PX, png_markdown, upstream_path
from gantk.pipelines.resources import TrainingPolicy, Workspace
from gantk.pipelines.scores import score_metadata
from gantk.training.request import RunRequest

GROUP = "train"
ASSET = "trained_model"
KEY = AssetKey(ASSET)
DATASET, ARCHITECTURE = "dataset", "architecture"
FALLBACK_PRESET = "dcgan"
# A job tag every launcher applies (UI, `dg launch`, GraphQL, schedules): the number of
# steps when run config gives none. The `demo` job sets it, so the demo stays short.
STEPS_TAG = "gantk/steps"
# Set on a run whose training was refused before launch (the reason).
REFUSED_TAG = "gantk/refused"


def train_partitions(registry: Registry,
                     datasets: StaticPartitionsDefinition | None = None
                     ) -> MultiPartitionsDefinition:
    """dataset x architecture, from whatever the registry holds right now."""
    return MultiPartitionsDefinition({
        DATASET: datasets or StaticPartitionsDefinition(registry.names("dataset")),
        ARCHITECTURE: StaticPartitionsDefinition(registry.names("architecture")),
    })


def store_dep() -> AssetDep:
    """A model partition (or its evaluation) reads its own dataset's store partition only."""
    return AssetDep(STORE_KEY, partition_mapping=MultiToSingleDimensionPartitionMapping(DATASET))


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
    loss: str | None = Field(None, description="adversarial loss (a registered name, e.g. "
                             "ragan); default: the preset's (dcgan's is nonsaturating)")
    steps: int | None = Field(None, description="generator updates; default: the job's "
                              f"{STEPS_TAG} tag (the demo's 300), else the preset's")
    batch_size: int | None = None
    device: Device = Field(Device.auto, description="cpu, cuda or auto")
    seed: int | None = None
    overrides: list[str] = Field(default_factory=list,
                                 description="config key=value, as `gantk run --set`")
    resume: bool = Field(False, description="continue this partition's latest run")
    launcher: list[str] = Field(default_factory=list, description="command before `-m gantk`, "
                                "e.g. ['torchrun', '--nproc-per-node=2']; default: this "
                                "Python; only the training_policy resource's allowed "
                                "launchers run")
    max_fid: float | None = Field(None, description="the fid_within check fails when the "
                                  "final in-training FID is above this")


def steps_wanted(config: TrainConfig, tags: Mapping[str, str]) -> int | None:
    """Run config's steps, else the job's STEPS_TAG, else None (the preset decides)."""
    if config.steps is not None:
        return config.steps
    if STEPS_TAG not in tags:
        return None
    try:
        return int(tags[STEPS_TAG])
    except ValueError:
        raise Failure(f"{ASSET}: tag {STEPS_TAG}={tags[STEPS_TAG]!r} is not a whole number; "
                      "fix the job's tag") from None


def train_request(config: TrainConfig, steps: int | None, preset: str, architecture: str,
                  store: Path | None, run_dir: Path | None) -> RunRequest:
    """What one partition asks the core training function for."""
    flags = {"steps": steps, "batch_size": config.batch_size,
             "device": Device(config.device).value, "seed": config.seed}
    return RunRequest(preset, store, run_dir, config.resume, flags,
                      [f"architecture={architecture}",
                       *([f"loss={config.loss}"] if config.loss else []), *config.overrides])


def train_command(config: TrainConfig, request: RunRequest) -> list[str]:
    """The Pipes process: `gantk.pipelines.train_process` with the request, behind the
    launcher (this Python, or e.g. torchrun; `refusal` checks it is an allowed one)."""
    return [*(config.launcher or [sys.executable]), "-m", "gantk.pipelines.train_process",
            request.to_json()]


def refusal(request: RunRequest, launcher: list[str], policy: TrainingPolicy) -> str | None:
    """Why this launch is refused before anything runs (one line), or None."""
    from gantk.errors import GantkError
    from gantk.training.request import check_request

    problem = policy.launcher_problem(launcher)
    if problem:
        return problem
    try:
        check_request(request)
    except GantkError as exc:
        return str(exc)
    return None


def data_refusal(request: RunRequest) -> str | None:
    """What the core would refuse once it sees the data (size, channels, count), or None.
    Imports the trainer (torch), so it runs after the cheap checks; world size 1 is the
    lenient case (under torchrun the process checks the global batch again)."""
    from gantk.errors import GantkError
    from gantk.training.request import compose
    from gantk.training.trainer import resolve_config

    try:
        resolve_config(compose(request)[0])
    except GantkError as exc:
        return str(exc)
    return None


def training_store(workspace: Workspace, registry: Registry, dataset: str) -> tuple[str, Path]:
    """The store a partition trains on: the de-duplicated one, once built, for a source that
    asks for de-duplication (`DatasetSpec.dedup`: LSUN, as in the paper)."""
    from gantk.pipelines.dedup import DEDUP_STORE
    from gantk.store import is_store

    _, store = store_of_dataset(workspace, registry, dataset)
    if registry.dataset(dataset).dedup and is_store(workspace.store(DEDUP_STORE)):
        return DEDUP_STORE, workspace.store(DEDUP_STORE)
    if not is_store(store):
        raise Failure(f"no ImageStore for dataset {dataset!r} at {store}; materialize "
                      f"{STORE} partition {dataset} first (in the UI, or `dg launch --assets "
                      f"{STORE} --partition {dataset}`)")
    return f"{STORE}[{dataset}]", store


def refuse(context: AssetExecutionContext, problem: str) -> None:
    """End a refused launch without failing the step: the partition keeps its status (a
    failed step would turn a good partition Failed); our line is the step's error and the
    run's `gantk/refused` tag (shown in the runs list)."""
    context.log.error(f"{ASSET}: not trained: {problem}")
    context.instance.add_run_tags(context.run.run_id, {REFUSED_TAG: problem[:250]})


def run_training(context: AssetExecutionContext, client: PipesSubprocessClient,
                 command: list[str]) -> MaterializeResult:
    """Run the Pipes process; its GantkError comes back as our one-line `Failure`."""
    import tempfile

    from gantk.pipelines.train_process import ERROR_FILE_ENV

    with tempfile.TemporaryDirectory(prefix="gantk-train-") as scratch:
        error_file = Path(scratch) / "error.txt"
        try:
            return client.run(command=command, context=context,
                              env={ERROR_FILE_ENV: str(error_file)}).get_materialize_result()
        except DagsterPipesExecutionError:
            line = error_file.read_text().strip() if error_file.is_file() else ""
            raise Failure(f"{ASSET}: " + (line or "training failed; its error is the last "
                                                  "line of the step's log")) from None


def model_metadata(run_dir: Path) -> dict[str, MetadataValue]:
    """The final EMA grid (big enough to read), score curve and best checkpoint."""
    grid = run_dir / "samples" / "final.png"
    metadata = {"samples": png_markdown(grid, "samples", min_px=READABLE_PX)}
    metadata.update(score_metadata(run_dir))
    return metadata


def train_asset(partitions: MultiPartitionsDefinition) -> AssetsDefinition:
    # A multi_asset only for `can_subset`: it makes the materialization and its check
    # results optional, so a refused launch ends the step without failing the partition.
    spec = AssetSpec(KEY, group_name=GROUP, deps=[store_dep()], kinds={"pytorch"},
                     owners=OWNERS, code_version=TRAIN_CODE_VERSION, skippable=True,
                     tags={"gantk/stage": "train"}, automation_condition=follow_store(),
                     description="a GAN trained by `gantk.training.entry.train` in a Dagster "
                                 "Pipes subprocess; partition `ARCHITECTURE|DATASET`")

    @multi_asset(name=ASSET, specs=[spec], partitions_def=partitions, pool="gpu",
                 can_subset=True, check_specs=training_check_specs(KEY, partitions))
    def trained_model(context: AssetExecutionContext, config: TrainConfig,
                      workspace: Workspace, training_policy: TrainingPolicy,
                      pipes_subprocess_client: PipesSubprocessClient
                      ) -> Iterator[MaterializeResult]:
        from gantk.contract.registry import get_registry

        reg = get_registry()
        dataset, architecture = partition_dims(context)
        preset = config.preset or (architecture if architecture in reg.names("preset")
                                   else FALLBACK_PRESET)
        steps = steps_wanted(config, context.run.tags)
        # A bad launch is refused before anything runs, and without failing the step: the
        # partition keeps its good materialization (its status does not turn Failed).
        problem = refusal(train_request(config, steps, preset, architecture, None, None),
                          config.launcher, training_policy)
        if problem:
            refuse(context, problem)
            return
        source, store = training_store(workspace, reg, dataset)
        if config.resume:
            run_dir = upstream_path(context.instance, KEY, "run_dir", context.partition_key)
        else:
            run_dir = workspace.run_dir(dataset, architecture, context.run.run_id)
        request = train_request(config, steps, preset, architecture, store, run_dir)
        problem = data_refusal(request)
        if problem:
            refuse(context, problem)
            return
        command = train_command(config, request)
        context.log.info(f"launching {shlex.join(command)}")
        reported = run_training(context, pipes_subprocess_client, command)
        run_dir = Path(reported.metadata["run_dir"].value)
        metadata = {**reported.metadata, **model_metadata(run_dir),
                    "preset": preset, "dataset": dataset, "trained_on": source,
                    "command": MetadataValue.text(shlex.join(command))}
        loss = reported.metadata.get("loss")
        yield MaterializeResult(asset_key=KEY, metadata=metadata,
                                tags=model_tags(dataset, architecture,
                                                loss.value if loss else None),
                                check_results=[no_nan(run_dir), not_collapsed(run_dir),
                                               fid_within(run_dir, config.max_fid)])

    return trained_model
