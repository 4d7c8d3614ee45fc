"""The contract checker (gantk.testing.check_*) on every built-in, the same checker
failing in one line on plugins that break the contract, and the trainer's one-time check
before its first step."""

from __future__ import annotations

import pickle

import lmdb
import numpy as np
import pytest
import torch

from gantk.contract.registry import PluginInfo, get_registry
from gantk.contract.specs import ArchitectureSpec, DatasetSpec, LossSpec, Record
from gantk.errors import ContractError
from gantk.testing import check_architecture, check_dataset, check_loss
from gantk.training.config import make_config
from gantk.training.trainer import Trainer
from tests.real_files import encode, photo, write
from tests.test_sources import _cifar_batch, _idx

TINY = {"dcgan-imagenet32": {"width": 8}}  # every other built-in takes ngf/ndf
TEST_PLUGIN = PluginInfo("t", "gantk-contract-tests", "0", __name__, False)


@pytest.mark.parametrize("name", get_registry().names("architecture"))
@pytest.mark.parametrize("channels", [1, 3])
def test_every_builtin_architecture_keeps_the_contract(name, channels):
    generator, discriminator = check_architecture(
        name, resolution=32, channels=channels, **TINY.get(name, {"ngf": 8, "ndf": 8}))
    assert generator.nz == 100


@pytest.mark.parametrize("name", get_registry().names("loss"))
def test_every_builtin_loss_keeps_the_contract(name):
    check_loss(name)


def _gray(seed: int) -> np.ndarray:
    return np.asarray(photo((28, 28), seed=seed).convert("L"))


def _mnist(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte.gz", _idx(np.stack([_gray(s) for s in range(3)]), 8))
    write(tmp_path / "train-labels-idx1-ubyte.gz", _idx(np.array([1, 2, 3], np.uint8), 8))
    return tmp_path


def _cifar10(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    images = np.stack([np.asarray(photo((32, 32), seed=s)) for s in range(2)])
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        write(folder / name, _cifar_batch(images, [3, 4]))
    write(folder / "batches.meta", pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return folder


def _svhn(tmp_path):
    from scipy.io import savemat

    images = np.stack([np.asarray(photo((32, 32), seed=s)) for s in range(3)], axis=-1)
    savemat(tmp_path / "train_32x32.mat", {"X": images, "y": np.array([[10], [1], [2]],
                                                                      np.uint8)})
    return tmp_path


def _lsun(tmp_path):
    src = tmp_path / "bedroom_train_lmdb"
    with lmdb.open(str(src), map_size=1 << 22) as env, env.begin(write=True) as txn:
        for i in range(3):
            txn.put(f"{i:040x}".encode(), encode(photo((80, 60), seed=i), "WEBP"))
    return src


def _tree(tmp_path):
    for i in range(3):
        write(tmp_path / "train" / "n01440764" / f"n01440764_{i}.JPEG",
              encode(photo((80, 60), seed=i), "JPEG"))
    return tmp_path


def _celeba(tmp_path):
    for i in range(1, 4):
        write(tmp_path / "img_align_celeba" / f"{i:06d}.jpg",
              encode(photo((178, 218), seed=i), "JPEG"))
    return tmp_path


def _folder(tmp_path):
    for i in range(3):
        photo(seed=i).save(tmp_path / f"photo_{i}.png")
    return tmp_path


INPUTS = {"mnist": _mnist, "cifar10": _cifar10, "svhn": _svhn, "lsun": _lsun,
          "imagenet": _tree, "faces": _celeba, "folder": _folder}


@pytest.mark.parametrize("name", get_registry().names("dataset"))
def test_every_builtin_dataset_source_keeps_the_contract(name, tmp_path):
    spec = get_registry().dataset(name)
    if name in INPUTS:
        src = INPUTS[name](tmp_path)
    else:  # the sources that ship or find their own data (digits, fashion-mnist)
        src = spec.default_path() if spec.default_path else None
        if src is None:
            pytest.skip(f"{name}: no input written by this test and none installed")
    records = check_dataset(name, src, limit=3)
    assert len(records) == 3


def _broken_pair(config):
    """A model whose D returns (N, 1) logits: the commonest slip."""
    from gantk.plugins.architectures.dcgan import build_dcgan

    generator, discriminator = build_dcgan(config)
    forward = discriminator.forward
    discriminator.forward = lambda x: forward(x).reshape(-1, 1)
    return generator, discriminator


def test_wrong_logit_shape_fails_in_one_line_in_checker_and_trainer(small_store, tmp_path):
    get_registry().add("architecture", ArchitectureSpec("n-by-one", _broken_pair, (32,)),
                       TEST_PLUGIN)
    with pytest.raises(ContractError) as err:
        check_architecture("n-by-one", ngf=8, ndf=8)
    message = str(err.value)
    assert "architecture 'n-by-one' (gantk-contract-tests)" in message
    assert "shape (2, 1)" in message and "expected logits of shape (2,)" in message
    assert "\n" not in message
    config = make_config({"architecture": "n-by-one", "data": str(small_store), "steps": 1,
                          "batch_size": 8,
                          "device": "cpu", "model": {"ngf": 8, "ndf": 8}})
    with pytest.raises(ContractError, match="'n-by-one' .gantk-contract-tests.* shape"):
        Trainer(config, tmp_path / "run", log=lambda m: None)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def _unbounded_pair(config):
    """Images in [-3, 3]: a generator rescaled after its tanh."""
    from gantk.plugins.architectures.dcgan import build_dcgan

    generator, discriminator = build_dcgan(config)
    forward = generator.forward
    generator.forward = lambda z: forward(z) * 3
    return generator, discriminator


def test_out_of_range_images_and_false_capability_are_caught():
    registry = get_registry()
    registry.add("architecture", ArchitectureSpec("out-of-range", _unbounded_pair, (32,)),
                 TEST_PLUGIN)
    with pytest.raises(ContractError, match="expected \\[-1, 1\\].*tanh"):
        check_architecture("out-of-range", ngf=8, ndf=8)
    from gantk.plugins.architectures.mlp_gan import build_mlp_gan

    registry.add("architecture", ArchitectureSpec("claims-hidden", build_mlp_gan, (32,),
                                                  capabilities=("features", "hidden")),
                 TEST_PLUGIN)
    with pytest.raises(ContractError, match="generator.hidden.z. failed"):
        check_architecture("claims-hidden", ngf=8, ndf=8)
    registry.add("architecture", ArchitectureSpec("claims-maps", build_mlp_gan, (32,),
                                                  capabilities=("conv-features",)),
                 TEST_PLUGIN)
    with pytest.raises(ContractError, match="declares conv-features .* shapes \\[\\(2, 8\\)"):
        check_architecture("claims-maps", ngf=8, ndf=8)


def test_bad_loss_and_bad_source_are_caught(tmp_path):
    registry = get_registry()
    registry.add("loss", LossSpec("per-sample", lambda r, f: (f - r).mean(), lambda f: -f),
                 TEST_PLUGIN)
    with pytest.raises(ContractError, match="g_loss.fake_logits. returned a tensor of shape "
                                            ".6,., expected a scalar"):
        check_loss("per-sample")
    registry.add("loss", LossSpec("constant", lambda r, f: torch.tensor(1.0),
                                  lambda f: -f.mean()), TEST_PLUGIN)
    with pytest.raises(ContractError, match="d_loss.* is not differentiable"):
        check_loss("constant")

    def repeats(path, options):
        for i in range(3):
            yield Record("same-key", np.zeros((4, 4), np.uint8), i)

    registry.add("dataset", DatasetSpec("repeats", repeats), TEST_PLUGIN)
    with pytest.raises(ContractError, match="key 'same-key' is .*repeated"):
        check_dataset("repeats", tmp_path)

    def float_labels(path, options):
        yield Record("a", np.zeros((4, 4), np.float32), 0.5)

    registry.add("dataset", DatasetSpec("float-images", float_labels), TEST_PLUGIN)
    with pytest.raises(ContractError, match="must be uint8"):
        check_dataset("float-images", tmp_path)


def _mlp_pair_then(change):
    """A builder: the mlp-gan pair, then `change(generator, discriminator)`."""
    from gantk.plugins.architectures.mlp_gan import build_mlp_gan

    def build(config):
        generator, discriminator = build_mlp_gan(config)
        change(generator, discriminator)
        return generator, discriminator

    return build


def _zero_weights(generator, discriminator):
    with torch.no_grad():
        for p in generator.parameters():
            p.zero_()


def _nan_parameter(generator, discriminator):
    """NaN where the forward pass does not look (NaN logits are caught before)."""
    discriminator.spare = torch.nn.Parameter(torch.full((2,), float("nan")))


def _detached_layer(generator, discriminator):
    """A parameter that never reaches D(G(z)): registered but unused by forward."""
    generator.unused = torch.nn.Linear(2, 2)


@pytest.mark.parametrize(("change", "message"), [
    (_zero_weights, "every generator weight is zero after build; initialize inside build"),
    (_nan_parameter, "discriminator parameter spare holds NaN/Inf after build"),
    (_detached_layer, "generator parameter unused.weight got no finite gradient from D\\(G\\(z"),
])
def test_uninitialized_or_untrainable_parameters_are_caught(change, message):
    name = f"broken-{change.__name__.strip('_').replace('_', '-')}"
    get_registry().add("architecture", ArchitectureSpec(name, _mlp_pair_then(change), (32,)),
                       TEST_PLUGIN)
    with pytest.raises(ContractError, match=message):
        check_architecture(name, ngf=8, ndf=8)
