"""The dedup group end to end: hash model -> codes -> de-duplicated store, with its checks.

Runs once `gantk.datasets.dedup` is present (it is built in parallel with the pipeline).
"""

from __future__ import annotations

import numpy as np
import pytest
from dagster import AssetMaterialization, DagsterInstance, MetadataValue, materialize

from gantk.store import ImageStoreWriter  # noqa: E402

DISTINCT, COPIES = 40, 8


def _store_with_duplicates(path):
    """DISTINCT noise images, then exact copies of the first COPIES of them."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(DISTINCT, 64, 64, 3), dtype=np.uint8)
    with ImageStoreWriter(path, 64, 3, source="test") as writer:
        for i, image in enumerate([*images, *images[:COPIES]]):
            writer.add(image, None, f"img/{i}")
    return path


@pytest.mark.slow
def test_dedup_chain_materializes(tmp_path):
    from gantk.pipelines.dedup import DEDUP_STORE, HASH_CODES, HASH_MODEL, LSUN, SOURCE
    from gantk.pipelines.definitions import build_graph, resources
    from gantk.pipelines.ingest import STORE

    instance = DagsterInstance.ephemeral()
    workspace = resources(str(tmp_path / "ws"))
    source = _store_with_duplicates(workspace["workspace"].store(SOURCE))
    # The LSUN ingest ran elsewhere: record its result as Dagster would.
    instance.report_runless_asset_event(AssetMaterialization(
        STORE, partition=LSUN, metadata={"path": MetadataValue.path(str(source)),
                                         "count": DISTINCT + COPIES}))
    result = materialize(
        build_graph().select(HASH_MODEL, HASH_CODES, DEDUP_STORE), instance=instance,
        resources=workspace,
        run_config={"ops": {HASH_MODEL: {"config": {"sample": DISTINCT + COPIES, "epochs": 1,
                                                    "max_steps": 30, "device": "cpu"}},
                            HASH_CODES: {"config": {"batch_size": 16, "device": "cpu"}}}})
    assert result.success
    meta = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    dedup = meta[DEDUP_STORE]
    assert dedup["removed"].value >= COPIES
    assert dedup["count"].value == DISTINCT + COPIES - dedup["removed"].value
    assert str(dedup["path"].value).startswith(str(tmp_path / "ws"))
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"dedup_rate_plausible": True, "store_intact": True}
