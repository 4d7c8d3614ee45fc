"""Shared fixtures: an isolated GANTK_HOME, small real ImageStores, tiny run configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gantk.contract.registry import reset_registry
from gantk.store import ImageStoreWriter, close_readers


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("gantk_home")
    monkeypatch.setenv("GANTK_HOME", str(home))
    yield home
    close_readers()
    reset_registry()


def write_store(path: Path, count: int = 64, resolution: int = 32, channels: int = 1,
                labeled: bool = True, seed: int = 0, encoding: str = "raw") -> Path:
    """A real LMDB ImageStore of smooth random blobs (labels = blob quadrant)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:resolution, 0:resolution] / resolution
    with ImageStoreWriter(path, resolution, channels, encoding=encoding, source="test",
                          batch_size=16) as writer:
        for i in range(count):
            cy, cx = rng.uniform(0.2, 0.8, size=2)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.02)
            img = (blob[..., None] * rng.uniform(150, 255, size=channels)).astype(np.uint8)
            label = int(cy > 0.5) * 2 + int(cx > 0.5) if labeled else None
            writer.add(img, label, f"blob/{i:04d}")
    return path


@pytest.fixture
def small_store(tmp_path) -> Path:
    return write_store(tmp_path / "store", count=96)


def tiny_layers(store: Path) -> dict:
    """Layers for a fast CPU run of the paper's dcgan at 32x32 with narrow widths."""
    return {"architecture": "dcgan", "data": str(store), "batch_size": 16, "steps": 6,
            "model": {"ngf": 8, "ndf": 8}, "log_every": 2, "sample_every": 3,
            "checkpoint_every": 3, "seed": 3, "device": "cpu"}


@pytest.fixture
def tiny_config(small_store):
    return tiny_layers(small_store)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One finished tiny run (`tiny_layers`, 6 steps), shared by the tests that only read
    it; a test that changes a run copies it first (`shutil.copytree`)."""
    from gantk.training.config import make_config
    from gantk.training.trainer import Trainer

    root = tmp_path_factory.mktemp("tiny_run")
    store = write_store(root / "store", count=96)
    Trainer(make_config(tiny_layers(store)), root / "run", log=lambda m: None).fit()
    return root / "run"


def tiny_torchscript(path: Path) -> Path:
    """A real TorchScript feature network (3x16x16 -> 32 features), as a user would name
    one with -o network=PATH: the suite's stand-in for InceptionV3 (torch marks jit
    deprecated, hence the filter)."""
    import warnings

    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(net), str(path))
    return path


@pytest.fixture(scope="session")
def tiny_net(tmp_path_factory) -> Path:
    return tiny_torchscript(tmp_path_factory.mktemp("net") / "net.pt")


def scoring(net: Path, **extra) -> dict:
    """Config layers for fast in-training scores with the tiny network."""
    return {"eval_n": 32, "eval_options": {"network": str(net), "net_size": 16,
                                           "batch_size": 16, "subsets": 3,
                                           "subset_size": 16}, **extra}
