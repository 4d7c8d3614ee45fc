"""Architectures: the paper's shapes, the model contract, the init."""

from __future__ import annotations

import pytest
import torch

from gantk.contract.registry import get_registry
from gantk.training.config import make_config


def _build(name, **cfg):
    return get_registry().architecture(name).build(make_config(cfg))


def _conv_shapes(module, kind):
    return [tuple(m.weight.shape) for m in module.modules() if isinstance(m, kind)]


def test_dcgan_64_matches_the_reference_code():
    G, D = _build("dcgan", resolution=64, channels=3)
    (dense,) = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert tuple(dense.weight.shape) == (1024 * 16, 100)
    assert _conv_shapes(G, torch.nn.ConvTranspose2d) == [
        (1024, 512, 5, 5), (512, 256, 5, 5), (256, 128, 5, 5), (128, 3, 5, 5)]
    assert _conv_shapes(D, torch.nn.Conv2d) == [
        (128, 3, 5, 5), (256, 128, 5, 5), (512, 256, 5, 5), (1024, 512, 5, 5)]
    # BatchNorm everywhere but G's output and D's input; no biases (BN supplies them)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules()) == 4
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules()) == 3
    assert all(getattr(m, "bias", None) is None for m in list(G.modules()) + list(D.modules())
               if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)))
    assert isinstance(list(G.modules())[-1], torch.nn.Tanh)
    lrelus = [m for m in D.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert len(lrelus) == 4 and all(m.negative_slope == 0.2 for m in lrelus)


def test_dcgan_32_matches_the_released_svhn_model():
    G, D = _build("dcgan", resolution=32, channels=3)
    assert _conv_shapes(G, torch.nn.ConvTranspose2d) == [
        (256, 128, 5, 5), (128, 64, 5, 5), (64, 3, 5, 5)]
    assert _conv_shapes(D, torch.nn.Conv2d) == [(64, 3, 5, 5), (128, 64, 5, 5), (256, 128, 5, 5)]
    (head,) = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert tuple(head.weight.shape) == (1, 4096)


@pytest.mark.parametrize("name", ["dcgan", "dcgan-pytorch"])
@pytest.mark.parametrize("resolution,channels", [(32, 1), (32, 3), (64, 3), (64, 1)])
def test_model_contract(name, resolution, channels):
    G, D = _build(name, resolution=resolution, channels=channels,
                  model={"ngf": 8, "ndf": 8})
    z = torch.rand(5, G.nz) * 2 - 1
    x = G(z)
    assert x.shape == (5, channels, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1
    logits = D(x)
    assert logits.shape == (5,)
    feats = D.features(x)
    n_conv = sum(isinstance(m, torch.nn.Conv2d) for m in D.blocks.modules())
    assert len(feats) == n_conv
    assert feats[-1].shape[-1] == 4 and all(f.shape[0] == 5 for f in feats)


def test_pytorch_examples_variant_shapes():
    G, D = _build("dcgan-pytorch", resolution=64, channels=3)
    assert _conv_shapes(G, torch.nn.ConvTranspose2d) == [
        (100, 512, 4, 4), (512, 256, 4, 4), (256, 128, 4, 4), (128, 64, 4, 4), (64, 3, 4, 4)]
    assert _conv_shapes(D, torch.nn.Conv2d)[-1] == (1, 512, 4, 4)


def test_init_follows_the_paper():
    torch.manual_seed(0)
    G, D = _build("dcgan", resolution=64, channels=3)
    convs = torch.cat([m.weight.flatten() for m in D.modules() if isinstance(m, torch.nn.Conv2d)])
    assert abs(convs.std().item() - 0.02) < 0.001 and abs(convs.mean().item()) < 0.001
    gains = torch.cat([m.weight for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert abs(gains.mean().item() - 1.0) < 0.005 and abs(gains.std().item() - 0.02) < 0.005


def test_unknown_model_option_is_rejected():
    from gantk.errors import ConfigError

    with pytest.raises(ConfigError, match="architecture 'dcgan': unknown option.s. width; "
                                          "known options: ngf: int | None = None"):
        _build("dcgan", resolution=32, channels=1, model={"width": 3})
