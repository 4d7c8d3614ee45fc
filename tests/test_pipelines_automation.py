"""Declarative automation, evaluated as the daemon's sensor would on a real instance:
evaluations follow a new training of their partition; a model partition follows a change
of its own dataset's store (a new content fingerprint), not a re-ingest of the same data."""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    MultiPartitionKey,
    evaluate_automation_conditions,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG

PARTITION = MultiPartitionKey({"dataset": "fashion-mnist", "architecture": "dcgan"})


def _requested(result, key: str) -> set[str]:
    """The partitions of `key` that this tick requests."""
    subset = next((r.true_subset for r in result.results if r.key == AssetKey(key)), None)
    return {str(k) for k in subset.expensively_compute_partition_keys()} if subset else set()


def test_evaluations_follow_training_and_models_follow_changed_stores():
    from gantk.pipelines.definitions import build_definitions

    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    tick = evaluate_automation_conditions(defs=defs, instance=instance)
    assert tick.total_requested == 0  # nothing happens on its own at first

    instance.report_runless_asset_event(AssetMaterialization(
        "trained_model", partition=str(PARTITION), metadata={"run_dir": "/nowhere"}))
    tick = evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert _requested(tick, "eval_nearest_neighbours") == {str(PARTITION)}
    assert _requested(tick, "viz_samples") == {str(PARTITION)}
    comparison = next(r for r in tick.results if r.key == AssetKey("model_comparison"))
    assert comparison.true_subset.size == 1  # unpartitioned: it follows any training
    tick = evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert tick.total_requested == 0  # once per update, not on every tick
    assert _requested(tick, "trained_model") == set()

    def store(fingerprint: str) -> None:
        instance.report_runless_asset_event(AssetMaterialization(
            "image_store", partition="cifar10", tags={DATA_VERSION_TAG: fingerprint}))

    store("aaa")
    tick = evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    models = _requested(tick, "trained_model")
    assert models and all(p.endswith("|cifar10") for p in models)
    # evaluations follow the trainings requested now, never re-run on an old model
    assert _requested(tick, "eval_nearest_neighbours") == models
    store("aaa")  # the same data again
    tick = evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
    assert _requested(tick, "trained_model") == set()
