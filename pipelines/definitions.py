"""The Dagster `Definitions` of gantk: `dagster dev` / `dg dev` in the repo root load `defs`.

The graph is built from the plugin registry when this module loads: every registered
dataset source, architecture, evaluation and visualization appears without edits here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetChecksDefinition,
    AssetKey,
    AssetsDefinition,
    BetaWarning,
    Definitions,
    PipesSubprocessClient,
    PreviewWarning,
    define_asset_job,
)

from gantk.contract.registry import Registry, get_registry
from gantk.contract.specs import EvalSpec
from gantk.pipelines.automation import sensors
from gantk.pipelines.checks import store_check
from gantk.pipelines.compare import KEY as COMPARISON_KEY
from gantk.pipelines.compare import comparison_asset
from gantk.pipelines.dedup import DEDUP_ASSETS, DEDUP_STORE
from gantk.pipelines.evaluate import GROUPS, eval_assets, eval_specs
from gantk.pipelines.ingest import dataset_partitions, store_asset
from gantk.pipelines.resources import TrainingPolicy, Workspace
from gantk.pipelines.sweep import SWEEP_ASSETS, SWEEP_JOB
from gantk.pipelines.train import KEY as MODEL_KEY
from gantk.pipelines.train import STEPS_TAG, train_asset, train_partitions

DEMO_STEPS = 300
DEMO_DESCRIPTION = (
    f"Train briefly ({DEMO_STEPS} steps, the job's `{STEPS_TAG}` tag, which every launcher "
    "applies; run config `steps` overrides it) and run every evaluation and figure that runs "
    "without options here and fast on a CPU (filter-ablation needs boxes, svm-probe a test "
    "store; fid, kid and prdc run InceptionV3 over 10,000 images by default: materialize them "
    "on their own with options `n=…`). Launch it for the partition `dcgan|fashion-mnist` (any "
    "`ARCHITECTURE|DATASET`) once `image_store` partition `fashion-mnist` is materialized.")


def in_demo(spec: EvalSpec) -> bool:
    """Evals the demo job runs: those that need no options here and score no samples
    through a feature network (hours at their default size on a CPU)."""
    return spec.runs_without_options() and spec.score is None


@dataclass
class Graph:
    """The assets, checks, jobs and sensors for the plugins registered now."""

    assets: list[AssetsDefinition]
    checks: list[AssetChecksDefinition]
    jobs: list[Any]  # define_asset_job's (unresolved) jobs
    sensors: list[Any]

    def select(self, *names: str) -> list[AssetsDefinition | AssetChecksDefinition]:
        """The named assets with their checks, e.g. for `dagster.materialize` in tests."""
        keys = {AssetKey(n) for n in names}
        return [*(a for a in self.assets if a.key in keys),
                *(c for c in self.checks if c.check_key.asset_key in keys)]


def build_graph(registry: Registry | None = None) -> Graph:
    # MultiToSingleDimensionPartitionMapping (beta) and partitioned checks (preview) are
    # what per-dataset lineage and per-partition check results need; do not warn each load.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        warnings.simplefilter("ignore", PreviewWarning)
        return _build_graph(registry or get_registry())


def _build_graph(registry: Registry) -> Graph:
    datasets = dataset_partitions(registry)
    partitions = train_partitions(registry, datasets)
    model = train_asset(partitions)
    evals = eval_assets(registry, partitions)
    demo = define_asset_job(
        "demo", selection=[MODEL_KEY, *(e.key for e, spec in zip(evals, eval_specs(registry))
                                        if in_demo(spec))],
        tags={STEPS_TAG: str(DEMO_STEPS)},
        description=DEMO_DESCRIPTION)
    return Graph([store_asset(registry, datasets), *DEDUP_ASSETS, model, *evals,
                  comparison_asset(MODEL_KEY, partitions, GROUPS["eval"]), *SWEEP_ASSETS],
                 [store_check(AssetKey(DEDUP_STORE))], [demo, SWEEP_JOB],
                 sensors(MODEL_KEY, [*(e.key for e in evals), COMPARISON_KEY]))


def resources(root: str | None = None) -> dict[str, Any]:
    """The workspace (artifact root; default $GANTK_HOME), the launch policy, Pipes."""
    return {"workspace": Workspace(root=root), "training_policy": TrainingPolicy(),
            "pipes_subprocess_client": PipesSubprocessClient()}


def build_definitions(registry: Registry | None = None) -> Definitions:
    """Assets, checks, resources, the demo job and the automation sensors."""
    graph = build_graph(registry)
    return Definitions(assets=graph.assets, asset_checks=graph.checks, jobs=graph.jobs,
                       sensors=graph.sensors, resources=resources())


GROUP_NAMES = ("ingest", "dedup", "train", *GROUPS.values(), "experiments")

defs = build_definitions()
