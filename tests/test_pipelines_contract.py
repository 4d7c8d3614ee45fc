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
