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


def _our_line(event) -> str:
    """The step failure's message as the UI shows it: a Failure with our one line."""
    error = event.step_failure_data.error
    assert error.cls_name == "Failure" and error.cause is None
    line = error.message.removeprefix("dagster._core.definitions.events.Failure: ").strip()
    assert "\n" not in line
    return line


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
    assert ingest == {"image_store"}
    registry = get_registry()
    stores = defs.resolve_assets_def("image_store").partitions_def.get_partition_keys()
    assert {"lsun", "imagenet", "faces", "cifar10", "svhn", "fashion-mnist"} <= set(stores)
    model = defs.resolve_assets_def("trained_model")
    dims = {d.name: d.partitions_def.get_partition_keys()
            for d in model.partitions_def.partitions_defs}
    assert dims == {"dataset": registry.names("dataset"),
                    "architecture": registry.names("architecture")}
    assert model.op.pool == "gpu"
    checks = {str(k) for k in graph.asset_check_keys}
    assert any("image_store" in c and "store_intact" in c for c in checks)
    assert defs.resolve_job_def("demo").partitions_def is not None
    demo = defs.resolve_job_def("demo")
    assert demo.tags["gantk/steps"] == "300"
    assert "<" not in demo.description  # Markdown in the UI would swallow <tags>
    # the demo stays a demo: no InceptionV3 over 10,000 images on a CPU
    selected = {k.to_user_string() for k in demo.asset_layer.executable_asset_keys}
    assert "trained_model" in selected and "viz_samples" in selected
    assert not selected & {"eval_fid", "eval_kid", "eval_prdc"}


def test_each_partition_depends_on_its_own_dataset_only():
    from gantk.pipelines.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    model, store = AssetKey("trained_model"), AssetKey("image_store")
    nearest = AssetKey("eval_nearest-neighbours".replace("-", "_"))
    for child in (model, nearest):
        for dataset in ("fashion-mnist", "cifar10"):
            key = MultiPartitionKey({"dataset": dataset, "architecture": "dcgan"})
            parents = graph.get_parent_partition_keys_for_child(key, store, child)
            assert set(parents.partitions_subset.get_partition_keys()) == {dataset}
    assert graph.get(model).parent_keys == {store}
    assert graph.get(nearest).parent_keys == {store, model}
    hash_model = graph.get_parent_partition_keys_for_child(None, store,
                                                           AssetKey("lsun_hash_model"))
    assert set(hash_model.partitions_subset.get_partition_keys()) == {"lsun"}


def test_owners_code_versions_and_automation_are_declared():
    from gantk.pipelines.automation import FOLLOW_SENSOR, RETRAIN_SENSOR
    from gantk.pipelines.definitions import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == ["team:gantk"], key
        assert node.code_version, key
    evals = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "evaluate"]
    assert evals and all(graph.get(k).automation_condition is not None for k in evals)
    assert graph.get(AssetKey("trained_model")).automation_condition is not None
    assert graph.get(AssetKey("eval_fid")).tags["gantk/plugin"] == "fid"
    for name in (FOLLOW_SENSOR, RETRAIN_SENSOR):
        assert defs.resolve_sensor_def(name).default_status.value == "STOPPED"


def test_plugin_package_adds_partition_and_assets(plugin_installed):
    from gantk.pipelines.definitions import build_graph

    graph = build_graph()
    model = next(a for a in graph.assets if a.key == AssetKey("trained_model"))
    keys = model.partitions_def.get_partition_keys()
    assert MultiPartitionKey({"dataset": "fashion-mnist",
                              "architecture": "testplugin-dcgan"}) in keys
    assert MultiPartitionKey({"dataset": "testplugin-stripes", "architecture": "dcgan"}) in keys
    store = next(a for a in graph.assets if a.key == AssetKey("image_store"))
    assert "testplugin-stripes" in store.partitions_def.get_partition_keys()
    assert {"eval_pixel_stats", "eval_pixel_stats_strict"} <= _keys(graph.assets, "evaluate")
    assert "viz_sample_sheet" in _keys(graph.assets, "visualize")


def test_missing_source_path_names_the_variable(tmp_path, monkeypatch):
    from gantk.pipelines.definitions import build_graph, resources

    monkeypatch.delenv("GANTK_CIFAR10_SRC", raising=False)
    graph = build_graph().select("image_store")
    result = materialize(graph, resources=resources(str(tmp_path)), partition_key="cifar10",
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "GANTK_CIFAR10_SRC" in failure.step_failure_data.error.message

    # a wrong path from the variable names the variable, as our one line (no traceback)
    monkeypatch.setenv("GANTK_CIFAR10_SRC", str(tmp_path / "nowhere"))
    result = materialize(graph, resources=resources(str(tmp_path)), partition_key="cifar10",
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert _our_line(failure).startswith(f"cifar10: GANTK_CIFAR10_SRC={tmp_path / 'nowhere'} ")

    # a path the source cannot read names the variable it came from
    monkeypatch.setenv("GANTK_CIFAR10_SRC", str(tmp_path))
    result = materialize(graph, resources=resources(str(tmp_path)), partition_key="cifar10",
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert _our_line(failure).endswith("(path from GANTK_CIFAR10_SRC)")


def test_ingest_errors_are_one_line_failures(tmp_path):
    """A GantkError inside the core reaches the UI as a Failure with our line, no trace."""
    from gantk.pipelines.definitions import build_graph, resources

    result = materialize(build_graph().select("image_store"), partition_key="fashion-mnist",
                         resources=resources(str(tmp_path)),
                         instance=DagsterInstance.ephemeral(), raise_on_error=False,
                         run_config={"ops": {"image_store": {"config": {
                             "src": str(tmp_path), "options": ["nope=1"]}}}})
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert _our_line(failure).startswith("fashion-mnist: ")


def test_store_check_catches_a_count_mismatch(tmp_path):
    from gantk.pipelines.checks import store_intact

    store = write_store(tmp_path / "s", count=20)
    assert store_intact(store, 20, seed=1).passed
    wrong = store_intact(store, 21, seed=1)
    assert not wrong.passed and "21 were recorded" in wrong.description
    assert not store_intact(tmp_path / "nothing", 20).passed


def _png_width(markdown: str) -> int:
    """The pixel width of a markdown data-URI PNG (as the UI's <img> shows it)."""
    import base64
    import io

    from PIL import Image

    data = markdown.split("base64,", 1)[1].rstrip(")")
    with Image.open(io.BytesIO(base64.b64decode(data))) as picture:
        return picture.width


def _failed_partitions(instance, partitions_def) -> set[str]:
    """The trained_model partitions the UI shows as Failed."""
    from dagster._core.storage.partition_status_cache import (
        get_and_update_asset_status_cache_value,
    )

    status = get_and_update_asset_status_cache_value(instance, AssetKey("trained_model"),
                                                     partitions_def)
    return set(status.deserialize_failed_partition_subsets(partitions_def).get_partition_keys())


def _materialize_demo_store(instance, workspace, limit=64):
    from gantk.pipelines.definitions import build_graph

    return materialize(build_graph().select("image_store"), partition_key="fashion-mnist",
                       instance=instance, resources=workspace,
                       run_config={"ops": {"image_store": {"config": {"limit": limit}}}})


@pytest.mark.slow
def test_demo_chain_materializes(plugin_installed, tmp_path):
    """image_store[fashion-mnist] -> trained_model (Pipes subprocess) -> every eval and
    figure, on CPU."""
    from gantk.pipelines.definitions import build_graph, resources

    instance = DagsterInstance.ephemeral()
    workspace = resources(str(tmp_path / "ws"))
    stored = _materialize_demo_store(instance, workspace)
    assert stored.success
    store = stored.get_asset_materialization_events()[0].materialization
    assert store.partition == "fashion-mnist"
    store = store.metadata
    assert [store[k].value for k in ("count", "ingested")] == [64, 64]
    assert store["shape"].value == "32x32x1"
    assert str(store["path"].value).startswith(str(tmp_path / "ws"))
    assert _png_width(store["preview"].value) >= 512

    names = ["trained_model", "eval_pixel_stats", "eval_pixel_stats_strict", "viz_sample_sheet"]
    partition = MultiPartitionKey({"dataset": "fashion-mnist", "architecture": "dcgan"})
    result = materialize(
        build_graph().select(*names), partition_key=partition, instance=instance,
        resources=workspace,
        run_config={"ops": {"trained_model": {"config": TINY_TRAINING},
                            "eval_pixel_stats": {"config": {"device": "cpu"}},
                            "eval_pixel_stats_strict": {"config": {"device": "cpu"}},
                            "viz_sample_sheet": {"config": {"device": "cpu"}}}})
    assert result.success
    meta = {e.materialization.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert set(meta) == set(names)

    model = meta["trained_model"]
    assert model["steps"].value == 2 and model["images_per_s"].value > 0
    assert {"loss_d", "loss_g"} <= set(model)
    assert model["batch_size"].value == "16"  # a setting: text, not a plotted number
    assert model["trained_on"].value == "image_store[fashion-mnist]"
    (event,) = [e.materialization for e in result.get_asset_materialization_events()
                if e.materialization.asset_key == AssetKey("trained_model")]
    assert {k: v for k, v in event.tags.items() if k.startswith("gantk/")} == {
        "gantk/dataset": "fashion-mnist", "gantk/architecture": "dcgan",
        "gantk/loss": "nonsaturating"}
    run_dir = model["run_dir"].value
    assert run_dir.startswith(str(tmp_path / "ws" / "runs" / "fashion-mnist" / "dcgan"))
    assert _png_width(model["samples"].value) >= 512  # readable on the asset page
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(line.startswith("step 1: loss_d=") for line in logs), "no metrics over Pipes"

    assert isinstance(meta["eval_pixel_stats"]["spread"].value, float)
    assert meta["eval_pixel_stats"]["result"].value.startswith(run_dir)
    sheet = meta["viz_sample_sheet"]
    assert sheet["real_images"].value == 64.0
    assert sheet["figure_fakes"].value.startswith("![fakes](data:image/png;base64,")

    checks = {(c.asset_key.to_user_string(), c.check_name): (c.passed, c.partition)
              for c in [*stored.get_asset_check_evaluations(),
                        *result.get_asset_check_evaluations()]}
    key = str(partition)
    assert checks == {("image_store", "store_intact"): (True, "fashion-mnist"),
                      ("trained_model", "no_nan"): (True, key),
                      ("trained_model", "not_collapsed"): (True, key),
                      ("trained_model", "fid_within"): (True, key),
                      ("eval_pixel_stats", "above_baseline"): (True, key),
                      ("eval_pixel_stats_strict", "above_baseline"): (False, key)}

    # a bad launch on this good partition leaves it materialized, not Failed
    bad = materialize(build_graph().select("trained_model"), partition_key=partition,
                      instance=instance, resources=workspace,
                      run_config={"ops": {"trained_model": {"config": {"overrides": ["lr=-1"]}}}})
    assert bad.success and not bad.get_asset_materialization_events()
    partitions_def = build_graph().select("trained_model")[0].partitions_def
    assert _failed_partitions(instance, partitions_def) == set()
    assert key in instance.get_materialized_partitions(AssetKey("trained_model"))

    compared = materialize(build_graph().select("model_comparison"), instance=instance,
                           resources=workspace)
    (table,) = [e.materialization.metadata["models"].value
                for e in compared.get_asset_materialization_events()]
    (row,) = table.records
    assert row.data == {"architecture": "dcgan", "dataset": "fashion-mnist",
                        **{k: row.data[k] for k in ("loss_d", "loss_g", "images_per_s")},
                        "steps": 2.0}


@pytest.mark.parametrize("config,message", [
    ({"overrides": ["lr=-1"]}, "lr: Input should be greater than 0"),
    ({"overrides": ["nope=1"]}, "unknown key 'nope'"),
    ({"launcher": ["bash", "-c", "echo pwned"]}, "launcher 'bash' is not allowed"),
])
def test_bad_training_config_never_fails_the_partition(tmp_path, config, message):
    """Refused before launch, as our one line, and without a step failure: a good
    materialization of the partition keeps its status."""
    from gantk.pipelines.definitions import build_graph, resources

    instance = DagsterInstance.ephemeral()
    assets = build_graph().select("trained_model", "viz_training_curves")
    result = materialize(
        assets, instance=instance,
        partition_key=MultiPartitionKey({"dataset": "fashion-mnist", "architecture": "dcgan"}),
        resources=resources(str(tmp_path)), raise_on_error=False,
        run_config={"ops": {"trained_model": {"config": config}}})
    assert not [e for e in result.all_events if e.is_step_failure]
    assert not result.get_asset_materialization_events()
    # what follows the model in the same run (the demo's evaluations) does not run
    assert [e.step_key for e in result.all_events
            if e.event_type_value == "STEP_SKIPPED"] == ["viz_training_curves"]
    errors = [e.user_message for e in instance.all_logs(result.run_id)
              if e.level >= 40 and "not trained" in e.user_message]
    assert len(errors) == 1 and message in errors[0]
    assert message in instance.get_run_by_id(result.run_id).tags["gantk/refused"]
    assert not (tmp_path / "runs").exists()
    assert _failed_partitions(instance, assets[0].partitions_def) == set()


def test_bad_device_is_refused_at_launch(tmp_path):
    from dagster import DagsterInvalidConfigError

    from gantk.pipelines.definitions import build_graph, resources

    with pytest.raises(DagsterInvalidConfigError, match="gpu"):
        materialize(build_graph().select("trained_model"), instance=DagsterInstance.ephemeral(),
                    partition_key=MultiPartitionKey({"dataset": "fashion-mnist",
                                                     "architecture": "dcgan"}),
                    resources=resources(str(tmp_path)),
                    run_config={"ops": {"trained_model": {"config": {"device": "gpu"}}}})


def test_eval_errors_are_one_line_failures(tmp_path):
    """An evaluation's GantkError (here: the recorded run is not a run) is our line."""
    from dagster import AssetMaterialization, MetadataValue

    from gantk.pipelines.definitions import build_graph, resources

    instance = DagsterInstance.ephemeral()
    partition = MultiPartitionKey({"dataset": "fashion-mnist", "architecture": "dcgan"})
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    instance.report_runless_asset_event(AssetMaterialization(
        "trained_model", partition=str(partition),
        metadata={"run_dir": MetadataValue.path(str(run_dir))}))
    result = materialize(build_graph().select("viz_training_curves"), instance=instance,
                         partition_key=partition, resources=resources(str(tmp_path)),
                         raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert _our_line(failure) == (f"viz_training_curves: {run_dir} is not a gantk run (no "
                                  "config.json); pass a directory written by `gantk run`")


@pytest.mark.slow
def test_training_errors_are_one_line_failures(tmp_path):
    """An error only the training can find (its losses diverge) fails the step with our
    line, not "the process failed"; a mismatch with the data is refused before launch."""
    from gantk.pipelines.definitions import build_graph, resources

    workspace = resources(str(tmp_path / "ws"))
    write_store(workspace["workspace"].store("fashion_mnist"), count=32)
    partition = MultiPartitionKey({"dataset": "fashion-mnist", "architecture": "dcgan"})

    def train(overrides):
        instance = DagsterInstance.ephemeral()
        config = {**TINY_TRAINING, "overrides": [*TINY_TRAINING["overrides"], *overrides]}
        result = materialize(build_graph().select("trained_model"), instance=instance,
                             partition_key=partition, resources=workspace,
                             raise_on_error=False,
                             run_config={"ops": {"trained_model": {"config": config}}})
        return result, instance

    result, _ = train(["lr=1e30"])
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert _our_line(failure).startswith("trained_model: a loss became NaN/Inf at step 1; ")

    result, instance = train(["resolution=64"])
    assert result.success and not result.get_asset_materialization_events()
    refused = instance.get_run_by_id(result.run_id).tags["gantk/refused"]
    assert "holds 32x32 images but resolution 64 was asked for" in refused


@pytest.mark.parametrize("width,expected", [(100, 600), (530, 530), (3000, 1100)])
def test_embedded_images_are_readable_and_bounded(tmp_path, width, expected):
    """Small grids grow by whole pixels to >= 512 px, large figures shrink to 1100 px."""
    from PIL import Image

    from gantk.pipelines.metadata import READABLE_PX, png_markdown

    Image.new("RGB", (width, width // 2), "white").save(tmp_path / "g.png")
    assert _png_width(png_markdown(tmp_path / "g.png", min_px=READABLE_PX).value) == expected
