"""Declarative automation: evaluations follow a new training, a training follows a changed
store. Both are conditions on the assets, evaluated only while their sensor runs; both
sensors start STOPPED because they start CPU/GPU work (a full training takes hours). Switch
them on in the UI (Automation -> the sensor -> toggle) or with
`dagster sensor start evaluations_follow_training` / `... retrain_on_new_data`.
"""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
)

FOLLOW_SENSOR = "evaluations_follow_training"
RETRAIN_SENSOR = "retrain_on_new_data"


def follow_model(model: AssetKey) -> AutomationCondition:
    """Run when the partition's trained model was updated (a store change alone does not
    re-run an evaluation of an old model)."""
    return AutomationCondition.eager().allow(AssetSelection.assets(model)).with_label(
        "after each new training of this partition")


def follow_any_model(model: AssetKey) -> AutomationCondition:
    """For an unpartitioned summary of every model partition: run after any new training
    (`eager()` would wait until no partition is missing, i.e. never)."""
    updated = AutomationCondition.any_deps_updated().allow(AssetSelection.assets(model))
    return (updated & ~AutomationCondition.in_progress()).with_label(
        "after any new training")


def follow_store() -> AutomationCondition:
    """Retrain a partition when its dataset's store changed: its data version (the content
    fingerprint) moved, so re-ingesting the same data retrains nothing."""
    changed = AutomationCondition.any_deps_match(AutomationCondition.data_version_changed())
    return AutomationCondition.eager().replace("any_deps_updated", changed).with_label(
        "after its dataset's store changed")


def sensors(model: AssetKey,
            evaluations: list[AssetKey]) -> list[AutomationConditionSensorDefinition]:
    """Both automation sensors, stopped until someone switches them on."""
    return [
        AutomationConditionSensorDefinition(
            FOLLOW_SENSOR, target=AssetSelection.assets(*evaluations),
            default_status=DefaultSensorStatus.STOPPED, minimum_interval_seconds=60,
            description="evaluations and figures of a partition follow its new training "
                        "(off by default: each starts CPU/GPU work)"),
        AutomationConditionSensorDefinition(
            RETRAIN_SENSOR, target=AssetSelection.assets(model),
            default_status=DefaultSensorStatus.STOPPED, minimum_interval_seconds=300,
            description="retrain the models of a dataset whose store changed (off by "
                        "default: a full training takes hours)"),
    ]
