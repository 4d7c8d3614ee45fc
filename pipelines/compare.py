"""`model_comparison`: every trained partition side by side, from the materializations
Dagster recorded (no files re-read), so architectures and datasets can be compared at a
glance: final losses, throughput and the in-training scores where the trainer logged them.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DagsterInstance,
    Failure,
    MaterializeResult,
    MetadataValue,
    MultiPartitionsDefinition,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from gantk.pipelines.automation import follow_any_model
from gantk.pipelines.conventions import EVAL_CODE_VERSION, OWNERS
from gantk.pipelines.metadata import latest_metadata

ASSET = "model_comparison"
KEY = AssetKey(ASSET)
# Columns shown, in order, when at least one partition recorded them.
COLUMNS = ("steps", "score_fid", "best_fid", "score_kid", "score_precision", "loss_d",
           "loss_g", "images_per_s")


def comparison_rows(instance: DagsterInstance, model: AssetKey,
                    partitions: MultiPartitionsDefinition) -> list[dict[str, Any]]:
    """One row per materialized partition of `model`: its dimensions and latest numbers."""
    rows = []
    for partition in sorted(instance.get_materialized_partitions(model)):
        meta = latest_metadata(instance, model, partition)
        dims = partitions.get_partition_key_from_str(partition).keys_by_dimension
        rows.append({"partition": partition, **dims,
                     **{c: float(meta[c]) for c in COLUMNS
                        if isinstance(meta.get(c), (int, float))}})
    return rows


def comparison_asset(model: AssetKey, partitions: MultiPartitionsDefinition,
                     group: str) -> AssetsDefinition:
    @asset(name=ASSET, group_name=group, deps=[model], owners=OWNERS,
           code_version=EVAL_CODE_VERSION, kinds={"table"},
           automation_condition=follow_any_model(model),
           description="every trained partition side by side: scores, losses, throughput")
    def model_comparison(context: AssetExecutionContext) -> MaterializeResult:
        rows = comparison_rows(context.instance, model, partitions)
        if not rows:
            raise Failure(f"{ASSET}: no partition of {model.to_user_string()} is "
                          "materialized yet; train one first")
        names = [d.name for d in partitions.partitions_defs]
        shown = [c for c in COLUMNS if any(c in r for r in rows)]
        schema = TableSchema(columns=[*(TableColumn(n, "string") for n in names),
                                      *(TableColumn(c, "float") for c in shown)])
        records = [TableRecord({**{n: r[n] for n in names},
                                **{c: r[c] for c in shown if c in r}}) for r in rows]
        return MaterializeResult(metadata={
            "models": MetadataValue.table(records, schema=schema),
            "partitions": MetadataValue.int(len(rows))})

    return model_comparison
