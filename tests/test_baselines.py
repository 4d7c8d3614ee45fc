"""Baseline architectures and presets: the model contract, the originals' shapes, and
every baseline preset training from its registered config and from the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from gantk.contract.registry import get_registry
from gantk.training.config import make_config
from gantk.training.trainer import Trainer

BASELINE_PRESETS = ["minimax", "lsgan", "hinge", "ragan", "wgan-gp", "dcgan-no-bn", "mlp-gan"]


def _build(name, **cfg):
    return get_registry().architecture(name).build(make_config(cfg))


def _count(module, kind):
    return sum(isinstance(m, kind) for m in module.modules())


@pytest.mark.parametrize("name", ["mlp-gan", "dcgan-no-bn"])
@pytest.mark.parametrize("resolution,channels", [(32, 1), (32, 3), (64, 3)])
def test_model_contract(name, resolution, channels):
    G, D = _build(name, resolution=resolution, channels=channels, model={"ngf": 8, "ndf": 8})
    z = torch.rand(5, G.nz) * 2 - 1
    x = G(z)
    assert x.shape == (5, channels, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5,)
    feats = D.features(x)
    assert feats and all(f.shape[0] == 5 for f in feats)


def test_mlp_gan_matches_goodfellow_mnist_yaml():
    G, D = _build("mlp-gan", resolution=32, channels=1)
    g_shapes = [tuple(m.weight.shape) for m in G.modules() if isinstance(m, nn.Linear)]
    assert g_shapes == [(1200, 100), (1200, 1200), (1024, 1200)]
    d_shapes = [tuple(m.weight.shape) for m in D.modules() if isinstance(m, nn.Linear)]
    assert d_shapes == [(240 * 5, 1024), (240 * 5, 240), (1, 240)]  # maxout 240 x 5 pieces
    assert [m.p for m in D.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.5, 0.5]
    assert _count(G, nn.ReLU) == 2 and _count(G, nn.Tanh) == 1
    assert _count(G, nn.Conv2d) + _count(D, nn.Conv2d) + _count(D, nn.BatchNorm1d) == 0
    g_max = max(m.weight.abs().max().item() for m in G.modules() if isinstance(m, nn.Linear))
    d_max = max(m.weight.abs().max().item() for m in D.modules() if isinstance(m, nn.Linear))
    # pylearn2 irange, bounds as float32 (0.05 rounds up to 0.0500000007 in float32)
    g_bound, d_bound = torch.tensor(0.05).item(), torch.tensor(0.005).item()
    assert 0.04 < g_max <= g_bound and 0.004 < d_max <= d_bound
    D.eval()
    feats = D.features(torch.rand(4, 1, 32, 32))
    assert [tuple(f.shape) for f in feats] == [(4, 240), (4, 240)]  # flat hidden layers


def test_dcgan_no_bn_is_dcgan_without_batchnorm():
    G, D = _build("dcgan-no-bn", resolution=64, channels=3)
    ref_G, ref_D = _build("dcgan", resolution=64, channels=3)
    assert _count(G, nn.BatchNorm2d) + _count(D, nn.BatchNorm2d) == 0

    def conv_shapes(m):
        return [tuple(c.weight.shape) for c in m.modules()
                if isinstance(c, (nn.Conv2d, nn.ConvTranspose2d))]

    assert conv_shapes(G) == conv_shapes(ref_G) and conv_shapes(D) == conv_shapes(ref_D)
    hidden_convs = [c for c in list(G.body.modules())[:-2] + list(D.blocks.modules())
                    if isinstance(c, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(c.bias is not None for c in hidden_convs)  # biases replace BN's shift


def test_critic_without_batchnorm_keeps_generator_batchnorm():
    G, D = _build("dcgan", resolution=32, channels=1, model={"d_batchnorm": False})
    assert _count(G, nn.BatchNorm2d) == 3 and _count(D, nn.BatchNorm2d) == 0


@pytest.mark.parametrize("preset", BASELINE_PRESETS)
def test_baseline_preset_trains_without_nan(preset, small_store, tmp_path):
    steps = 2
    config = make_config(get_registry().preset(preset).config, {
        "data": str(small_store), "batch_size": 8, "steps": steps, "device": "cpu",
        "model": {"ngf": 8, "ndf": 8}, "log_every": 1, "sample_every": 100,
        "checkpoint_every": 100, "seed": 1})
    trainer = Trainer(config, tmp_path / "run", log=lambda m: None)
    result = trainer.fit()
    assert result.step == steps
    assert all(math.isfinite(v) for v in result.metrics.values())
    # the trainer honours the loss's critic steps: 5 D updates per G update for wgan-gp
    critic = 5 if preset == "wgan-gp" else 1
    assert {int(s["step"]) for s in trainer.opt_d.state.values()} == {steps * critic}
    assert {int(s["step"]) for s in trainer.opt_g.state.values()} == {steps}


def test_wgan_gp_preset_settings():
    cfg = make_config(get_registry().preset("wgan-gp").config)
    assert (cfg.loss, cfg.lr, cfg.beta1, cfg.beta2) == ("wgan-gp", 1e-4, 0.0, 0.9)
    assert cfg.model == {"d_batchnorm": False}


@pytest.mark.slow
def test_gantk_run_wgan_gp(small_store, tmp_path):
    preset = "wgan-gp"
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "gantk", "run", preset, "--data", str(small_store), "--out",
         str(out), "--steps", "2", "--batch-size", "8", "--device", "cpu",
         "--set", "model.ngf=8", "--set", "model.ndf=8"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "done: 2 steps" in proc.stdout and (out / "samples" / "final.png").is_file()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["preset"] == preset and cfg["model"] == {"d_batchnorm": False, "ngf": 8, "ndf": 8}
