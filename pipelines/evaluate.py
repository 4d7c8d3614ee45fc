"""The `evaluate` and `visualize` groups: one asset per registered eval/visualization plugin.

Each asset shares the trained model's dataset x architecture partitions, runs
`gantk.evaluation.runner.run_eval` (the function behind `gantk eval` and `gantk viz`) on the
partition's latest trained run, and reports metrics as floats and figures as small
embedded PNGs. Plugins registered later show up as assets without edits here.
"""

import json
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    MultiPartitionsDefinition,
    asset,
)

from gantk.contract.describe import eval_description
from gantk.contract.registry import Registry, get_registry
from gantk.contract.specs import EvalSpec
from gantk.pipelines.automation import follow_model
from gantk.pipelines.checks import above_baseline, baseline_spec
from gantk.pipelines.conventions import EVAL_CODE_VERSION, OWNERS, Device, model_tags, tag
from gantk.pipelines.eval_config import chosen_options, eval_config_class
from gantk.pipelines.failures import one_line
from gantk.pipelines.ingest import asset_name
from gantk.pipelines.metadata import READABLE_PX, floats, png_markdown, upstream_path
from gantk.pipelines.resources import Workspace
from gantk.pipelines.train import KEY as MODEL_KEY
from gantk.pipelines.train import partition_dims, store_dep, training_store

GROUPS = {"eval": "evaluate", "visualization": "visualize"}
PREFIXES = {"eval": "eval", "visualization": "viz"}


def eval_asset_key(spec: EvalSpec) -> AssetKey:
    return AssetKey(f"{PREFIXES[spec.kind]}_{asset_name(spec.name)}")


def eval_asset(spec: EvalSpec, partitions: MultiPartitionsDefinition) -> AssetsDefinition:
    key = eval_asset_key(spec)
    deps = [MODEL_KEY, *([store_dep()] if "data" in spec.needs else [])]
    config_class = eval_config_class(spec)

    @asset(key=key, group_name=GROUPS[spec.kind], partitions_def=partitions,
           deps=deps, pool="gpu", kinds={"pytorch"}, owners=OWNERS,
           code_version=EVAL_CODE_VERSION, automation_condition=follow_model(MODEL_KEY),
           tags={"gantk/stage": GROUPS[spec.kind], "gantk/plugin": tag(spec.name),
                 "gantk/needs_data": str("data" in spec.needs).lower()},
           check_specs=baseline_spec(key, spec, partitions),
           description=eval_description(get_registry(), spec))
    def _evaluate(context: AssetExecutionContext, config: config_class,
                  workspace: Workspace) -> MaterializeResult:
        from gantk.contract.registry import get_registry
        from gantk.evaluation.runner import eval_dir, run_eval

        run_dir = upstream_path(context.instance, MODEL_KEY, "run_dir", context.partition_key)
        dataset, architecture = partition_dims(context)
        data = None
        if "data" in spec.needs:
            data = Path(config.data) if config.data else training_store(
                workspace, get_registry(), dataset)[1]
        with one_line(key.to_user_string()):
            result = run_eval(spec.name, run_dir, data=data,
                              options=chosen_options(spec, config),
                              device=Device(config.device).value, seed=config.seed,
                              kind=spec.kind)
        out = eval_dir(run_dir, spec.name)
        context.log.info(result.summary or f"{spec.name}: {result.metrics}")
        metadata: dict = {**floats(result.metrics),
                          "result": MetadataValue.path(str(out / "result.json")),
                          "run_dir": MetadataValue.path(str(run_dir))}
        if result.summary:
            metadata["summary"] = MetadataValue.text(result.summary)
        for name, path in result.figures.items():
            metadata[f"figure_{name}"] = png_markdown(path, name, min_px=READABLE_PX)
            metadata[f"figure_{name}_path"] = MetadataValue.path(str(path))
        for name, path in result.files.items():
            metadata[f"file_{name}"] = MetadataValue.path(str(path))
        checks = []
        if baseline_spec(key, spec):
            record = json.loads((out / "result.json").read_text())
            checks.append(above_baseline(spec, record))
        return MaterializeResult(metadata=metadata, check_results=checks,
                                 tags=model_tags(dataset, architecture))

    return _evaluate


def eval_specs(registry: Registry) -> list[EvalSpec]:
    """The registered evaluations and visualizations that get an asset, in order."""
    return [spec for spec in registry.evals() if spec.kind in GROUPS]


def eval_assets(registry: Registry,
                partitions: MultiPartitionsDefinition) -> list[AssetsDefinition]:
    return [eval_asset(spec, partitions) for spec in eval_specs(registry)]
