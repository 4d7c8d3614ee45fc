"""svm-probe, fid/kid and nearest-neighbours on tiny real runs and stores."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from gantk.contract.registry import get_registry
from gantk.errors import ConfigError, GantkError
from gantk.evaluation.runner import run_eval
from gantk.store import ImageStore
from gantk.training.config import make_config
from gantk.training.trainer import Trainer
from tests.conftest import tiny_torchscript, write_store

PROBE = {"labels_per_class": 5, "draws": 3, "val_draws": 2, "val_size": 40,
         "kmeans_k": 16, "kmeans_patches": 2000, "kmeans_iterations": 5, "cs": [1e-3, 1e-2]}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """One tiny trained run and its stores for the whole module (training is the slow part)."""
    root = tmp_path_factory.mktemp("probe")
    train = write_store(root / "train", count=96)
    config = {"architecture": "dcgan", "data": str(train), "batch_size": 16, "steps": 2,
              "model": {"ngf": 8, "ndf": 8}, "checkpoint_every": 2, "seed": 3, "device": "cpu"}
    Trainer(make_config(config), root / "run", log=lambda *_: None).fit()
    return root / "run", train, write_store(root / "test", count=48, seed=5)


@pytest.fixture
def trained(stores, tmp_path):
    """A fresh copy of the run, so evaluations of one test don't leak into another."""
    import shutil

    shutil.copytree(stores[0], tmp_path / "run")
    return tmp_path / "run"


@pytest.fixture
def small_store(stores):
    return stores[1]


@pytest.fixture
def test_store(stores):
    return stores[2]


def test_imagenet32_architecture_gives_the_papers_28672_features():
    G, D = get_registry().architecture("dcgan-imagenet32").build(
        make_config(get_registry().preset("dcgan-imagenet32").config, {"channels": 3}))
    assert G.nz == 256
    convs = [tuple(m.weight.shape) for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [(128, 3, 3, 3), (128, 128, 3, 3), (256, 128, 3, 3), (256, 256, 3, 3),
                     (512, 256, 3, 3), (512, 512, 3, 3)]
    assert [m.stride[0] for m in D.modules() if isinstance(m, torch.nn.Conv2d)] == [1, 2] * 3
    gconvs = [(m.in_channels, m.out_channels, m.stride[0]) for m in G.modules()
              if isinstance(m, torch.nn.ConvTranspose2d)]
    assert gconvs == [(512, 512, 2), (512, 256, 1), (256, 256, 2), (256, 128, 1),
                      (128, 128, 2), (128, 3, 1)]
    from gantk.plugins.evals.lib.features import DiscriminatorFeatures

    with torch.no_grad():
        images = G.eval()(torch.rand(2, 256) * 2 - 1)
        assert images.shape == (2, 3, 32, 32) and D.eval()(images).shape == (2,)
    uint8 = ((images + 1) * 127.5).round().to(torch.uint8)
    assert DiscriminatorFeatures(D)(uint8).shape == (2, 28672)


def test_batchnorm_gets_population_statistics_and_features_stream_to_disk(trained, small_store,
                                                                          tmp_path):
    from gantk.plugins.evals.lib.features import (
        DiscriminatorFeatures,
        extract_to_disk,
        recompute_batchnorm,
    )
    from gantk.training.runs import load_run

    D = load_run(trained).discriminator
    store = ImageStore(small_store)
    rows = np.arange(store.count)
    assert recompute_batchnorm(D, store, rows, batch_size=store.count) == 2
    images = torch.from_numpy(store.get_many(rows)[0]).permute(0, 3, 1, 2)
    with torch.no_grad():
        h = D.blocks[0](images.float() / 127.5 - 1)
        conv = D.blocks[1][0](h)
    bn = D.blocks[1][1]
    assert torch.allclose(bn.running_mean, conv.mean((0, 2, 3)), atol=1e-5)
    assert not bn.training and bn.momentum == 0.1
    extract = DiscriminatorFeatures(D)
    on_disk = extract_to_disk(extract, store, rows[::3], tmp_path / "f.npy", batch_size=7)
    assert isinstance(on_disk, np.memmap) and on_disk.dtype == np.float32
    assert on_disk.shape == (len(rows[::3]), (8 + 16 + 32) * 16)
    np.testing.assert_allclose(on_disk, extract(images[::3]).numpy(), rtol=1e-5, atol=1e-6)


def test_svm_probe_writes_tables_with_every_row_and_resumes(trained, small_store, test_store,
                                                            tmp_path):
    report = tmp_path / "reports" / "table2.md"
    result = run_eval("svm-probe", trained, small_store, device="cpu",
                      options={**PROBE, "test": str(test_store), "report": str(report)})
    out = trained / "evals" / "svm-probe"
    probe = json.loads((out / "probe.json").read_text())
    assert [r["row"] for r in probe["rows"]] == ["dcgan", "pixels", "random", "kmeans"]
    dims = {r["row"]: r["dims"] for r in probe["rows"]}
    assert dims == {"dcgan": 896, "pixels": 1024, "random": 896, "kmeans": 64}
    for r in probe["rows"]:
        assert 0 <= r["test_error"] <= 100 and r["C"] in PROBE["cs"] and r["draws"] == 3
    assert all(f"{r}_test_error" in result.metrics for r in dims)
    table = report.read_text()
    assert table == (out / "table.md").read_text()
    assert "published (Radford et al. 2015)" in table and "22.48" in table
    assert not (out / "features").exists()  # streamed features are cleaned up
    again = run_eval("svm-probe", trained, small_store, device="cpu",
                     options={**PROBE, "test": str(test_store), "rows": "pixels,kmeans"})
    assert again.metrics["pixels_test_error"] == result.metrics["pixels_test_error"]


def test_svm_probe_full_protocol_and_bad_options(trained, small_store, test_store):
    opts = {"test": str(test_store), "rows": "pixels", "val_size": 40, "cs": [1e-3, 1e-1]}
    result = run_eval("svm-probe", trained, small_store, device="cpu", options=opts)
    table = (trained / "evals" / "svm-probe" / "table.md").read_text()
    assert "accuracy (%)" in table and "82.8" in table  # Table 1 beside our accuracy
    assert 0 <= result.metrics["pixels_test_error"] <= 100
    with pytest.raises(ConfigError, match="needs --test VALUE"):
        run_eval("svm-probe", trained, small_store, options={"rows": "pixels"})
    with pytest.raises(ConfigError, match="unknown row"):
        run_eval("svm-probe", trained, small_store, options={"test": "x", "rows": "nope"})
    with pytest.raises(ConfigError, match="unknown option.s. colour"):
        run_eval("svm-probe", trained, small_store, options={"test": "x", "colour": "red"})


def test_fid_and_kid_with_a_named_network_cache_real_statistics(trained, small_store, tmp_path,
                                                                 isolated_home):
    net = tiny_torchscript(tmp_path / "net.pt")
    opts = {"network": str(net), "n": 40, "net_size": 16, "batch_size": 16}
    fid = run_eval("fid", trained, small_store, device="cpu", options=opts).metrics["fid"]
    cached = list((isolated_home / "cache" / "fid").glob("*.npy"))
    assert len(cached) == 1 and np.load(cached[0]).shape == (40, 32)
    assert fid > 0
    assert run_eval("fid", trained, small_store, device="cpu", options=opts).metrics["fid"] == \
        pytest.approx(fid)
    kid = run_eval("kid", trained, small_store, device="cpu",
                   options={**opts, "subsets": 5, "subset_size": 20}).metrics
    assert kid["kid"] > 0 and kid["kid_std"] >= 0
    with pytest.raises(GantkError, match="neither `fid-helper` nor a file"):
        run_eval("fid", trained, small_store, options={"network": str(tmp_path / "missing")})


def test_nearest_neighbours_figure_and_score(trained, small_store):
    from gantk.plugins.evals.nearest import nearest

    q, bank = torch.rand(5, 12), torch.rand(30, 12)
    d, i = nearest(q, lambda: ((s, bank[s:s + 7]) for s in range(0, 30, 7)), 3)
    ref_d, ref_i = torch.cdist(q, bank).topk(3, largest=False)
    assert torch.equal(i, ref_i) and torch.allclose(d, ref_d, atol=1e-4)
    result = run_eval("nearest-neighbours", trained, small_store, device="cpu",
                      options={"grid": 4, "k": 3, "n": 20})
    assert result.figures["nearest-neighbours"].is_file()
    assert 0 < result.metrics["nn_distance"] < 32 and 0 < result.metrics["nnd"] < 32


def test_cli_writes_the_report(trained, small_store, test_store, tmp_path):
    report = tmp_path / "reports" / "t.md"
    cmd = [sys.executable, "-m", "gantk", "eval", "svm-probe", "--run", str(trained), "--data",
           str(small_store), "-o", f"test={test_store}", "-o", "rows=pixels", "-o",
           "labels-per-class=5", "-o", "draws=2", "-o", "val_draws=1", "-o", "val_size=40",
           "-o", f"report={report}", "--device", "cpu"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "raw pixels" in report.read_text() and "pixels_test_error" in done.stdout
