"""The plugin contract in Dagster: the train asset's run config chooses the loss
(default: the preset's), checked like any other request before a process starts; each
eval asset's description says which architectures it supports and lists its options."""

from __future__ import annotations

import pytest

from gantk.errors import ConfigError
from gantk.pipelines.train import TrainConfig, train_request
from gantk.training.request import check_request


def test_run_config_chooses_the_loss():
    default = check_request(train_request(TrainConfig(), None, "dcgan", "dcgan-no-bn", None, None))
    assert (default.architecture, default.loss) == ("dcgan-no-bn", "nonsaturating")
    chosen = check_request(train_request(TrainConfig(loss="ragan"), None, "dcgan", "mlp-gan", None,
                                         None))
    assert (chosen.architecture, chosen.loss) == ("mlp-gan", "ragan")
    assert TrainConfig.model_fields["loss"].description.startswith("adversarial loss")
    with pytest.raises(ConfigError, match="unknown loss 'nope'; registered: hinge"):
        check_request(train_request(TrainConfig(loss="nope"), None, "dcgan", "dcgan", None, None))


def test_eval_asset_descriptions_show_capabilities_and_options():
    from gantk.contract.registry import get_registry
    from gantk.pipelines.evaluate import eval_asset
    from gantk.pipelines.train import train_partitions

    registry = get_registry()
    partitions = train_partitions(registry)
    asset = eval_asset(registry.eval("filter-ablation"), partitions)
    (text,) = asset.descriptions_by_key.values()
    assert "Requires an architecture offering hidden, layers: dcgan, dcgan-imagenet32, " in text
    assert "mlp-gan" not in text
    assert "boxes (str, required): JSON file of boxes" in text
    (plain,) = eval_asset(registry.eval("samples"), partitions).descriptions_by_key.values()
    assert "Requires" not in plain and "n (int, default 64): how many samples" in plain


def test_eval_options_are_typed_run_config_fields(tiny_run, tmp_path):
    """Each eval asset's `settings` are typed after the plugin's options model: Dagster
    refuses a wrong type at launch, the core refuses a value out of range in one line, and
    good values reach the plugin (here: the number of samples in the grid)."""
    from dagster import (
        AssetMaterialization,
        DagsterInstance,
        DagsterInvalidConfigError,
        MetadataValue,
        MultiPartitionKey,
        materialize,
    )

    from gantk.contract.registry import get_registry
    from gantk.pipelines.definitions import build_graph, resources
    from gantk.pipelines.eval_config import eval_config_class

    probe = eval_config_class(get_registry().eval("svm-probe")).model_fields["settings"]
    fields = probe.annotation.model_fields
    assert fields["draws"].annotation == int | None
    assert fields["cs"].annotation == list[float] | None
    assert fields["bn_images"].annotation == str | None  # int | "all": read like -o
    assert fields["draws"].description == "random draws of the labeled subset (default 100)"
    assert fields["test"].description.endswith("(required)")

    instance = DagsterInstance.ephemeral()
    partition = MultiPartitionKey({"dataset": "fashion-mnist", "architecture": "dcgan"})
    instance.report_runless_asset_event(AssetMaterialization(
        "trained_model", partition=str(partition),
        metadata={"run_dir": MetadataValue.path(str(tiny_run))}))

    def launch(settings):
        return materialize(build_graph().select("viz_samples"), instance=instance,
                           partition_key=partition, resources=resources(str(tmp_path)),
                           raise_on_error=False, run_config={"ops": {"viz_samples": {
                               "config": {"device": "cpu", "settings": settings}}}})

    with pytest.raises(DagsterInvalidConfigError, match="n"):
        launch({"n": "many"})
    refused = launch({"n": 0})
    (failure,) = [e for e in refused.all_events if e.is_step_failure]
    assert "n=0: input should be greater than or equal to 1" in (
        failure.step_failure_data.error.message)
    done = launch({"n": 4, "scale": 1})
    assert done.success
    (event,) = done.asset_materializations_for_node("viz_samples")
    assert event.metadata["n"].value == 4.0
