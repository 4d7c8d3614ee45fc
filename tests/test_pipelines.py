"""The Dagster pipeline: definitions from the registry, the demo chain end to end, checks."""

from __future__ import annotations

import sys

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    MultiPartitionKey,
    materialize,
)

from gantk.contract.registry import reset_registry
from tests.conftest import write_store
from tests.plugin_package import MODULE, write_plugin_package

TINY_TRAINING = {"steps": 2, "batch_size": 16, "device": "cpu",
                 "overrides": ["model.ngf=8", "model.ndf=8", "log_every=1"]}


@pytest.fixture
def plugin_installed(tmp_path, monkeypatch):
    """The test plugin package, discoverable through its entry point like an installed one."""
    monkeypatch.syspath_prepend(str(write_plugin_package(tmp_path / "site")))
    reset_registry()
    yield
    sys.modules.pop(MODULE, None)


def _keys(assets, group=None):
    return {key.to_user_string() for a in assets for key in a.keys
            if group is None or a.group_names_by_key[key] == group}


def test_definitions_load():
    import importlib

    from gantk.contract.registry import get_registry

    # Load the module as `dagster dev` does (again, in case a test imported it earlier).
    module = importlib.reload(importlib.import_module("gantk.pipelines.definitions"))
    defs, GROUP_NAMES = module.defs, module.GROUP_NAMES
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"ingest", "dedup", "train"} <= groups <= set(GROUP_NAMES)
    ingest = {k.to_user_string() for k in graph.get_all_asset_keys()
              if graph.get(k).group_name == "ingest"}
    assert {"lsun_bedrooms", "imagenet", "faces", "cifar10", "svhn", "fashion_mnist"} <= ingest
    model = defs.resolve_assets_def("trained_model")
    dims = {d.name: d.partitions_def.get_partition_keys()
            for d in model.partitions_def.partitions_defs}
    registry = get_registry()
    assert dims == {"dataset": registry.names("dataset"),
                    "architecture": registry.names("architecture")}
    assert model.op.pool == "gpu"
    checks = {str(k) for k in graph.asset_check_keys}
    assert any("fashion_mnist" in c and "store_intact" in c for c in checks)
    assert defs.resolve_job_def("demo").partitions_def is not None


def test_plugin_package_adds_partition_and_assets(plugin_installed):
    from gantk.pipelines.definitions import build_graph

    graph = build_graph()
    model = next(a for a in graph.assets if a.key == AssetKey("trained_model"))
    keys = model.partitions_def.get_partition_keys()
    assert MultiPartitionKey({"dataset": "fashion-mnist",
                              "architecture": "testplugin-dcgan"}) in keys
    assert MultiPartitionKey({"dataset": "testplugin-stripes", "architecture": "dcgan"}) in keys
    assert "testplugin_stripes" in _keys(graph.assets, "ingest")
    assert {"eval_pixel_stats", "eval_pixel_stats_strict"} <= _keys(graph.assets, "evaluate")
    assert "viz_sample_sheet" in _keys(graph.assets, "visualize")


def test_missing_source_path_names_the_variable(tmp_path, monkeypatch):
    from gantk.pipelines.definitions import build_graph, resources

    monkeypatch.delenv("GANTK_CIFAR10_SRC", raising=False)
    result = materialize(build_graph().select("cifar10"), resources=resources(str(tmp_path)),
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "GANTK_CIFAR10_SRC" in failure.step_failure_data.error.message


def test_store_check_catches_a_count_mismatch(tmp_path):
    from gantk.pipelines.checks import store_intact

    store = write_store(tmp_path / "s", count=20)
    assert store_intact(store, 20, seed=1).passed
    wrong = store_intact(store, 21, seed=1)
    assert not wrong.passed and "21 were recorded" in wrong.description
    assert not store_intact(tmp_path / "nothing", 20).passed


@pytest.mark.slow
def test_demo_chain_materializes(plugin_installed, tmp_path):
    """fashion_mnist -> trained_model (Pipes subprocess) -> every eval and figure, on CPU."""
    from gantk.pipelines.definitions import build_graph, resources

    graph = build_graph()
    names = ["fashion_mnist", "trained_model", "eval_pixel_stats", "eval_pixel_stats_strict",
             "viz_sample_sheet"]
    partition = MultiPartitionKey({"dataset": "fashion-mnist", "architecture": "dcgan"})
    instance = DagsterInstance.ephemeral()
    result = materialize(
        graph.select(*names), partition_key=partition, instance=instance,
        resources=resources(str(tmp_path / "ws")),
        run_config={"ops": {"fashion_mnist": {"config": {"limit": 64}},
                            "trained_model": {"config": TINY_TRAINING},
                            "eval_pixel_stats": {"config": {"device": "cpu"}},
                            "eval_pixel_stats_strict": {"config": {"device": "cpu"}},
                            "viz_sample_sheet": {"config": {"device": "cpu"}}}})
    assert result.success
    meta = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert set(meta) == set(names)

    store = meta["fashion_mnist"]
    assert [store[k].value for k in ("count", "ingested", "resolution")] == [64, 64, 32]
    assert str(store["path"].value).startswith(str(tmp_path / "ws"))
    assert store["preview"].value.startswith("![preview](data:image/png;base64,")

    model = meta["trained_model"]
    assert model["steps"].value == 2 and model["images_per_s"].value > 0
    assert {"loss_d", "loss_g"} <= set(model)
    run_dir = model["run_dir"].value
    assert run_dir.startswith(str(tmp_path / "ws" / "runs" / "fashion-mnist" / "dcgan"))
    assert len(model["samples"].value) < 120_000  # a small embedded PNG
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(line.startswith("step 1: loss_d=") for line in logs), "no metrics over Pipes"

    assert isinstance(meta["eval_pixel_stats"]["spread"].value, float)
    assert meta["eval_pixel_stats"]["result"].value.startswith(run_dir)
    sheet = meta["viz_sample_sheet"]
    assert sheet["real_images"].value == 64.0
    assert sheet["figure_fakes"].value.startswith("![fakes](data:image/png;base64,")

    checks = {(c.asset_key.to_user_string(), c.check_name): c.passed
              for c in result.get_asset_check_evaluations()}
    assert checks == {("fashion_mnist", "store_intact"): True,
                      ("trained_model", "no_nan"): True,
                      ("trained_model", "not_collapsed"): True,
                      ("eval_pixel_stats", "above_baseline"): True,
                      ("eval_pixel_stats_strict", "above_baseline"): False}


@pytest.mark.parametrize("overrides,message", [
    (["lr=-1"], "lr: Input should be greater than 0"),
    (["nope=1"], "unknown key 'nope'"),
])
def test_bad_training_config_fails_before_launch(tmp_path, overrides, message):
    from gantk.pipelines.definitions import build_graph, resources

    result = materialize(
        build_graph().select("trained_model"), instance=DagsterInstance.ephemeral(),
        partition_key=MultiPartitionKey({"dataset": "fashion-mnist", "architecture": "dcgan"}),
        resources=resources(str(tmp_path)), raise_on_error=False,
        run_config={"ops": {"trained_model": {"config": {"overrides": overrides}}}})
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert message in failure.step_failure_data.error.message
    assert not (tmp_path / "runs").exists()
