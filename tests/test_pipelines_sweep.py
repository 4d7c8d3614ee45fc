"""The Dagster face of sweeps: a plan adds one dynamic partition per run, each partition
trains through the core, and the comparison asset shows the table and plot."""

from __future__ import annotations

import json

import pytest
from dagster import DagsterInstance, materialize

from gantk.pipelines.resources import Workspace
from gantk.pipelines.sweep import SWEEP_RUNS, sweep_comparison, sweep_plan, sweep_run

TINY = {"steps": 2, "batch_size": 16, "device": "cpu", "seeds": 2,
        "overrides": ["model.ngf=8", "model.ndf=8", "log_every=1", "sample_every=100"]}


def _plan(instance, workspace, **config):
    return materialize([sweep_plan], instance=instance, resources={"workspace": workspace},
                       run_config={"ops": {"sweep_plan": {"config": {**TINY, **config}}}},
                       raise_on_error=False)


@pytest.mark.slow
def test_sweep_assets_end_to_end(small_store, tmp_path):
    """Batch 1000 > the store's 96 images: that partition fails with the trainer's reason,
    recorded in the manifest; the other trains; the comparison shows both rows."""
    instance = DagsterInstance.ephemeral()
    workspace = Workspace(root=str(tmp_path / "ws"))
    plan = _plan(instance, workspace, name="t", data=str(small_store),
                 grid=["batch_size=16,1000"], seeds=1)
    assert plan.success
    keys = instance.get_dynamic_partitions(SWEEP_RUNS.name)
    assert keys == ["t/batch_size=16/seed-0", "t/batch_size=1000/seed-0"]
    good = materialize([sweep_run], instance=instance, partition_key=keys[0],
                       resources={"workspace": workspace})
    assert good.asset_materializations_for_node("sweep_run")[0].metadata["step"].value == 2
    bad = materialize([sweep_run], instance=instance, partition_key=keys[1],
                      resources={"workspace": workspace}, raise_on_error=False)
    assert not bad.success
    assert "fewer than one batch" in bad.failure_data_for_node("sweep_run").error.message
    sweep = tmp_path / "ws" / "sweeps" / "t"
    runs = json.loads((sweep / "sweep.json").read_text())["runs"]
    assert [r["status"] for r in runs] == ["done", "failed"]
    result = materialize([sweep_comparison], instance=instance,
                         resources={"workspace": workspace},
                         run_config={"ops": {"sweep_comparison": {"config": {
                             "name": "t", "metric": "loss_d"}}}})
    meta = result.asset_materializations_for_node("sweep_comparison")[0].metadata
    assert "| batch_size=16 | 1 | done |" in meta["table"].value
    assert "| batch_size=1000 | 1 | 1 failed: " in meta["table"].value
    assert meta["plot"].value.startswith("![loss_d per point](data:image/png;base64,")
    assert (sweep / "compare.md").is_file() and (sweep / "compare.png").is_file()


def test_bad_grid_fails_the_plan_in_one_line(small_store, tmp_path):
    instance = DagsterInstance.ephemeral()
    result = _plan(instance, Workspace(root=str(tmp_path / "ws")), data=str(small_store),
                   grid=["bogus=1,2"])
    assert not result.success
    failure = result.failure_data_for_node("sweep_plan").error
    assert "unknown key 'bogus'" in failure.message
    assert instance.get_dynamic_partitions(SWEEP_RUNS.name) == []
