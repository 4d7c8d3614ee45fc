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
    config = {"architecture": "dcgan", "data": str(train), "batch_size": 16, "steps": 4,
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
    # Streamed in batches of 7 (a short last batch of 5): the running sums weight each
    # batch by its size, so the first BN layer's mean is still the mean over every image.
    recompute_batchnorm(D, store, rows, batch_size=7)
    assert torch.allclose(bn.running_mean, conv.mean((0, 2, 3)), atol=1e-5)
    per_batch = torch.stack([conv[i:i + 7].var((0, 2, 3)) * conv[i:i + 7][:, 0].numel()
                             for i in range(0, len(rows), 7)]).sum(0) / conv[:, 0].numel()
    assert torch.allclose(bn.running_var, per_batch, rtol=1e-4)
    extract = DiscriminatorFeatures(D)
    on_disk = extract_to_disk(extract, store, rows[::3], tmp_path / "f.npy", batch_size=7)
    assert isinstance(on_disk, np.memmap) and on_disk.dtype == np.float32
    assert on_disk.shape == (len(rows[::3]), (8 + 16 + 32) * 16)
    np.testing.assert_allclose(on_disk, extract(images[::3]).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
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
    kmeans = probe["rows"][3]
    assert 0 <= kmeans["fit_s"] <= kmeans["extract_s"] and "| run time (s) |" in table
    assert {r["bn_images"] for r in probe["rows"] if r["row"] in ("dcgan", "random")} == {96}
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


@pytest.mark.slow
def test_cli_writes_the_report(trained, small_store, test_store, tmp_path):
    report = tmp_path / "reports" / "t.md"
    cmd = [sys.executable, "-m", "gantk", "eval", "svm-probe", "--run", str(trained), "--data",
           str(small_store), "-o", f"test={test_store}", "-o", "rows=pixels", "-o",
           "labels-per-class=5", "-o", "draws=2", "-o", "val_draws=1", "-o", "val_size=40",
           "-o", f"report={report}", "--device", "cpu"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "raw pixels" in report.read_text() and "pixels_test_error" in done.stdout


CURVE = {"labels_per_class": 5, "draws": 3, "val_draws": 2, "val_size": 40,
         "kmeans_patches": 2000, "kmeans_iterations": 5, "cs": [1e-3, 1e-2], "bn_images": 64}


@pytest.mark.slow
def test_probe_curve_over_checkpoints_with_flat_references_resumes_per_step(
        trained, small_store, test_store, tmp_path):
    from PIL import Image

    opts = {**CURVE, "test": str(test_store), "refs": "random,kmeans-64",
            "report": str(tmp_path / "reports" / "curve.md"), "epoch_steps": 2}
    result = run_eval("probe-curve", trained, small_store, device="cpu", options=opts)
    out = trained / "evals" / "probe-curve"
    curve = json.loads((out / "curve.json").read_text())
    assert [p["step"] for p in curve["points"]] == [2, 4]
    assert [p["epoch"] for p in curve["points"]] == [1, 2]
    for p in curve["points"]:
        assert 0 <= p["test_error"] <= 100 and p["test_ci"] >= 0 and p["draws"] == 3
        assert p["dims"] == 896 and p["bn_images"] == 64
    assert [(r["row"], r["dims"]) for r in curve["refs"]] == [("random", 896), ("kmeans-64", 64)]
    assert curve["refs"][1]["fit_s"] >= 0 and "16 centroids" in curve["refs"][1]["name"]
    png = Image.open(out / "curve.png")
    assert png.format == "PNG" and png.size[0] > 300
    table = (tmp_path / "reports" / "curve.md").read_text()
    assert table == (out / "curve.md").read_text()
    assert "| 4 | 2 |" in table and "k-means (Coates & Ng, 1 layer), 16 centroids" in table
    best = min(p["test_error"] for p in curve["points"])
    for ref in curve["refs"]:  # the closing words agree with the numbers
        beaten = f"features beat {ref['name']}" in table
        assert beaten == (f"do not beat {ref['name']}" not in table) == \
            (best < ref["test_error"])
    assert result.metrics["dcgan_test_error_last"] == curve["points"][-1]["test_error"]
    # Every point and reference is kept in its own file and reused: a rerun recomputes
    # nothing, and removing one step's file recomputes just that step, identically.
    kept = {p: p.stat().st_mtime_ns for p in out.glob("*/*.json")}
    assert len(kept) == 4
    (out / "steps" / "step-00000004.json").unlink()
    again = run_eval("probe-curve", trained, small_store, device="cpu", options=opts)
    assert again.metrics == result.metrics
    for path, mtime in kept.items():
        assert path.stat().st_mtime_ns == mtime or path.name == "step-00000004.json"
    only = run_eval("probe-curve", trained, small_store, device="cpu",
                    options={**opts, "steps": "every=4"})
    assert only.metrics["dcgan_best_step"] == 4.0


@pytest.mark.slow
def test_probe_live_takes_the_training_discriminator_and_leaves_it_alone(
        trained, small_store, test_store):
    from gantk.contract.specs import EvalContext
    from gantk.plugins.evals.probe_curve import probe_live
    from gantk.training.runs import load_run

    opts = {**CURVE, "test": str(test_store), "refs": "pixels", "steps": "4"}
    offline = run_eval("probe-curve", trained, small_store, device="cpu", options=opts)
    step_file = trained / "evals" / "probe-curve" / "steps" / "step-00000004.json"
    offline_point = json.loads(step_file.read_text())["result"]
    step_file.unlink()
    D = load_run(trained).discriminator.train()  # as a trainer holds it
    before = {k: v.clone() for k, v in D.state_dict().items()}
    ctx = EvalContext(run_dir=trained, out_dir=trained / "evals" / "probe-curve", device="cpu",
                      options=opts, data=small_store)
    live = get_registry().eval("probe-curve").live(ctx, D, 4)  # as a trainer would call it
    assert D.training and all(torch.equal(v, before[k]) for k, v in D.state_dict().items())
    assert live.metrics == offline.metrics
    assert json.loads(step_file.read_text())["result"]["test_error"] == \
        offline_point["test_error"]
    # A point probed in training at a step with no checkpoint joins the offline curve;
    # the reference lines can wait (refs=none) and do not change the points' keys.
    no_refs = {**opts, "refs": "none"}
    del no_refs["steps"]
    probe_live(EvalContext(run_dir=trained, out_dir=ctx.out_dir, device="cpu", options=no_refs,
                           data=small_store), D, 3)
    curve = run_eval("probe-curve", trained, small_store, device="cpu", options=no_refs)
    points = json.loads((ctx.out_dir / "curve.json").read_text())["points"]
    assert [p["step"] for p in points] == [2, 3, 4] and set(curve.metrics) == {
        "dcgan_test_error_last", "dcgan_test_error_best", "dcgan_best_step"}


def test_probe_curve_refuses_bad_steps_and_rows(trained, small_store, test_store):
    base = {"test": str(test_store)}
    with pytest.raises(ConfigError, match="no checkpoint at step 3; steps saved: 2, 4"):
        run_eval("probe-curve", trained, small_store, options={**base, "steps": "2,3"})
    with pytest.raises(ConfigError, match="no saved checkpoint step is a multiple of every=3"):
        run_eval("probe-curve", trained, small_store, options={**base, "every": 3})
    with pytest.raises(ConfigError, match="kmeans-F"):
        run_eval("probe-curve", trained, small_store, options={**base, "refs": "kmeans-10"})
    with pytest.raises(ConfigError, match="dcgan curve is always drawn"):
        run_eval("probe-curve", trained, small_store, options={**base, "refs": "dcgan"})
    with pytest.raises(ConfigError, match="1000-label protocol"):
        run_eval("probe-curve", trained, small_store,
                 options={**base, "labels_per_class": "all"})


@pytest.mark.slow
def test_probe_curve_killed_mid_curve_continues_where_it_stopped(trained, small_store,
                                                                 test_store):
    import signal

    opts = {**CURVE, "test": str(test_store), "refs": "pixels"}
    cmd = [sys.executable, "-m", "gantk", "eval", "probe-curve", "--run", str(trained),
           "--data", str(small_store), "--device", "cpu",
           *(a for k, v in opts.items() for a in ("-o", f"{k}={json.dumps(v)}"))]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:  # SIGKILL as soon as the second checkpoint is being probed
        seen.append(line)
        if "checkpoint of step 4" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    out = trained / "evals" / "probe-curve"
    first = out / "steps" / "step-00000002.json"
    assert first.is_file() and not (out / "steps" / "step-00000004.json").exists()
    assert not (out / "curve.json").exists()
    mtime = first.stat().st_mtime_ns
    result = run_eval("probe-curve", trained, small_store, device="cpu", options=opts)
    assert first.stat().st_mtime_ns == mtime  # kept, not recomputed
    curve = json.loads((out / "curve.json").read_text())
    assert [p["step"] for p in curve["points"]] == [2, 4]
    assert curve["points"][0] == {**json.loads(first.read_text())["result"], "step": 2,
                                  "epoch": curve["points"][0]["epoch"]}
    assert result.metrics["pixels_test_error"] == curve["refs"][0]["test_error"]
