"""The plugin's own tests: gantk's contract checker on each registered item. Run them
with the package installed (`pip install -e .`, then `pytest tests`)."""

from __future__ import annotations

import numpy as np
import pytest

from gantk.errors import GantkError
from gantk.testing import check_architecture, check_dataset, check_loss


@pytest.mark.parametrize("resolution,channels", [(16, 1), (32, 3)])
def test_architecture_keeps_the_contract(resolution, channels):
    generator, _ = check_architecture("example-upsample", resolution=resolution,
                                      channels=channels, ngf=8, ndf=8)
    assert generator.nz == 100


def test_bad_option_is_one_line():
    with pytest.raises(GantkError, match="ngf='wide': input should be a valid integer.*; "
                                         "known options: ngf: int = 64, ndf: int = 64"):
        check_architecture("example-upsample", ngf="wide")


def test_loss_keeps_the_contract():
    check_loss("example-smoothed")


def test_dataset_source_keeps_the_contract(tmp_path):
    np.save(tmp_path / "images.npy", np.zeros((5, 20, 20), np.uint8))
    records = check_dataset("example-npy", tmp_path / "images.npy")
    assert [r.key for r in records] == [f"npy/{i:07d}" for i in range(5)]


def test_bad_input_is_one_line(tmp_path):
    np.save(tmp_path / "floats.npy", np.zeros((2, 4, 4), np.float32))
    for path, problem in ((tmp_path / "floats.npy", "expected uint8 images"),
                          (tmp_path / "missing.npy", "cannot read it")):
        with pytest.raises(GantkError, match=problem) as err:
            check_dataset("example-npy", path)
        assert "\n" not in str(err.value)
