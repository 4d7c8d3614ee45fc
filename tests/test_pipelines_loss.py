"""The Dagster train asset's run config chooses the loss (default: the preset's), checked
like any other request before a process starts."""

from __future__ import annotations

import pytest

from gantk.errors import ConfigError
from gantk.pipelines.train import TrainConfig, train_request
from gantk.training.request import check_request


def test_run_config_chooses_the_loss():
    default = check_request(train_request(TrainConfig(), "dcgan", "dcgan-no-bn", None, None))
    assert (default.architecture, default.loss) == ("dcgan-no-bn", "nonsaturating")
    chosen = check_request(train_request(TrainConfig(loss="ragan"), "dcgan", "mlp-gan", None,
                                         None))
    assert (chosen.architecture, chosen.loss) == ("mlp-gan", "ragan")
    assert TrainConfig.model_fields["loss"].description.startswith("adversarial loss")
    with pytest.raises(ConfigError, match="unknown loss 'nope'; registered: hinge"):
        check_request(train_request(TrainConfig(loss="nope"), "dcgan", "dcgan", None, None))
