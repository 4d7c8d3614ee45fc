"""The `experiments` group: a sweep as Dagster assets over the same core as `gantk sweep`.

- `sweep_plan` checks every run of a grid x seeds (one line on a bad key or value),
  writes the sweep's manifest under WORKSPACE/sweeps/NAME and adds one dynamic partition
  per run (`NAME/POINT/seed-N`);
- `sweep_run` trains one partition through `gantk.experiments.sweep.run_in_process`
  (a half-done run resumes from its checkpoint), so the `sweep_runs` job's backfill runs
  the grid on whatever executor and run launcher the instance has (multiprocess locally;
  Kubernetes or Celery by configuration, see docs/pipelines.md);
- `sweep_comparison` writes compare.md and compare.png for a sweep and shows both in its
  metadata.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    DynamicPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
)
from pydantic import Field

from gantk.pipelines.conventions import OWNERS, SWEEP_CODE_VERSION
from gantk.pipelines.metadata import png_markdown
from gantk.pipelines.resources import Workspace

GROUP = "experiments"
SWEEP_RUNS = DynamicPartitionsDefinition(name="sweep_run")
PLAN, RUN, COMPARISON = "sweep_plan", "sweep_run", "sweep_comparison"
T = TypeVar("T")


class SweepPlanConfig(Config):
    """A sweep, as `gantk sweep` takes it."""

    name: str = Field("sweep", description="folder under WORKSPACE/sweeps and partition prefix")
    preset: str = "dcgan"
    dataset: str = Field("fashion-mnist", description="registered dataset source whose "
                         "ingested store to train on (ignored when `data` is given)")
    data: str | None = Field(None, description="an ImageStore path")
    grid: list[str] = Field(default_factory=list, description="key=value1,value2 per key, "
                            "as `gantk sweep --grid`")
    seeds: int = Field(1, ge=1)
    steps: int | None = None
    batch_size: int | None = None
    device: str | None = None
    overrides: list[str] = Field(default_factory=list, description="key=value for every run")


class ComparisonConfig(Config):
    name: str = Field("sweep", description="the sweep to compare (WORKSPACE/sweeps/NAME)")
    metric: str = Field("fid", description="a metrics.jsonl key: fid, kid, loss_d, …")


def sweep_dir(workspace: Workspace, name: str) -> Path:
    return workspace.root_path() / "sweeps" / name


def partition_key(name: str, folder: str) -> str:
    return f"{name}/{folder}"


def _fail_on_bad_input(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a core call; a user error becomes a one-line Failure, not a traceback."""
    from gantk.errors import GantkError

    try:
        return call(*args, **kwargs)
    except GantkError as exc:
        raise Failure(str(exc)) from None


@asset(name=PLAN, group_name=GROUP, kinds={"python"}, owners=OWNERS,
       code_version=SWEEP_CODE_VERSION,
       description="check a grid x seeds sweep, write its manifest, add one partition per run")
def sweep_plan(context: AssetExecutionContext, config: SweepPlanConfig,
               workspace: Workspace) -> MaterializeResult:
    from gantk.contract.registry import get_registry
    from gantk.experiments.grid import parse_grid
    from gantk.experiments.sweep import Sweep, open_sweep
    from gantk.pipelines.train import training_store
    from gantk.training.request import RunRequest

    if "/" in config.name or not config.name:
        raise Failure(f"sweep name {config.name!r}: a folder name without '/' is needed")
    data = Path(config.data) if config.data else training_store(
        workspace, get_registry(), config.dataset)[1]
    flags = {"steps": config.steps, "batch_size": config.batch_size, "device": config.device}
    base = RunRequest(config.preset, data, None, False, flags, list(config.overrides))
    grid = _fail_on_bad_input(parse_grid, config.grid)
    plan = Sweep(base, grid, list(range(config.seeds)), sweep_dir(workspace, config.name))
    manifest = _fail_on_bad_input(open_sweep, plan)
    keys = [partition_key(config.name, run.folder) for run in manifest.runs]
    context.instance.add_dynamic_partitions(SWEEP_RUNS.name, keys)
    counts = manifest.counts()
    return MaterializeResult(metadata={
        "sweep": MetadataValue.path(str(plan.out)), "runs": len(keys),
        "done": counts["done"], "partitions": MetadataValue.md(
            "\n".join(f"- `{k}`" for k in keys)),
        "next": MetadataValue.text(f"materialize {RUN} for these partitions (job "
                                   f"sweep_runs, backfill), then {COMPARISON}")})


@asset(name=RUN, group_name=GROUP, partitions_def=SWEEP_RUNS, deps=[AssetKey(PLAN)],
       owners=OWNERS, code_version=SWEEP_CODE_VERSION,
       pool="gpu", kinds={"pytorch"},
       description="one run of a sweep (point x seed), trained through the gantk core")
def sweep_run(context: AssetExecutionContext, workspace: Workspace) -> MaterializeResult:
    from gantk.experiments import manifest as mf
    from gantk.experiments.sweep import Sweep, run_in_process

    name, _, folder = context.partition_key.partition("/")
    out = sweep_dir(workspace, name)
    manifest = _fail_on_bad_input(mf.load, out)
    entry = next((r for r in manifest.runs if r.folder == folder), None)
    if entry is None:
        raise Failure(f"{folder} is not a run of sweep {name!r}; materialize {PLAN} again")
    if entry.status == mf.DONE:
        context.log.info(f"{folder} is already done; nothing to train")
    else:
        entry.status, entry.reason = mf.PENDING, None
        run_in_process(Sweep.from_manifest(out, manifest), entry, context.log.info)
        mf.record(out, entry)
    if entry.status != mf.DONE:
        raise Failure(f"{folder}: {entry.reason or 'interrupted; materialize it again'}")
    return MaterializeResult(metadata={
        "run_dir": MetadataValue.path(str(out / folder)), "step": entry.step,
        "point": entry.point, "seed": entry.seed})


@asset(name=COMPARISON, group_name=GROUP, deps=[AssetKey(RUN)], kinds={"python"},
       owners=OWNERS, code_version=SWEEP_CODE_VERSION,
       description="the sweep's table (final/best score, mean ± std over seeds) and curves")
def sweep_comparison(config: ComparisonConfig, workspace: Workspace) -> MaterializeResult:
    from gantk.experiments.report import write_report

    out = sweep_dir(workspace, config.name)
    report = _fail_on_bad_input(write_report, [out], config.metric, out)
    metadata = {"table": MetadataValue.md(report.markdown),
                "compare_md": MetadataValue.path(str(report.markdown_path)),
                "metric": config.metric}
    if report.plot_path:
        metadata["plot"] = png_markdown(report.plot_path, f"{config.metric} per point",
                                        max_px=640)
    return MaterializeResult(metadata=metadata)


SWEEP_ASSETS = [sweep_plan, sweep_run, sweep_comparison]
SWEEP_JOB = define_asset_job(
    "sweep_runs", selection=[AssetKey(RUN)],
    description="one run per partition of the sweep; launch a backfill over the partitions "
                f"{PLAN} added; each run's step uses the job's executor")
