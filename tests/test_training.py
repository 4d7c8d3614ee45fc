"""The trainer: exact resume, checkpoints without pickles, NaN stops, outputs."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from gantk.errors import ConfigError, TrainingError
from gantk.training.checkpoint import latest_checkpoint, list_checkpoints, read_checkpoint
from gantk.training.config import make_config
from gantk.training.runs import load_run
from gantk.training.trainer import Trainer
from tests.conftest import scoring


def _train(layers, run_dir, resume=False, **override):
    trainer = Trainer(make_config(layers, override), run_dir, resume=resume, log=lambda m: None)
    return trainer.fit()


def _weights(run_dir):
    _, tensors = read_checkpoint(latest_checkpoint(run_dir))
    return tensors


def test_resume_is_exact(tiny_config, tmp_path):
    _train(tiny_config, tmp_path / "straight", steps=8)
    _train(tiny_config, tmp_path / "split", steps=4)
    _train(tiny_config, tmp_path / "split", resume=True, steps=8)
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    straight = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    split = (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in split] == [json.loads(x)["step"] for x in straight]
    for x, y in zip(straight, split):
        assert json.loads(x)["loss_d"] == pytest.approx(json.loads(y)["loss_d"], rel=1e-6)


def _lines(run_dir, kind=None):
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r.get("kind") == kind]


def test_resume_is_exact_with_ema_scores_and_best(tiny_config, tiny_net, tmp_path):
    layers = {**tiny_config, **scoring(tiny_net, ema=0.9, eval_every=2, best_metric="fid",
                                       keep_checkpoints=1)}
    _train(layers, tmp_path / "straight", steps=8)
    _train(layers, tmp_path / "split", steps=4)
    _train(layers, tmp_path / "split", resume=True, steps=8)
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert a.keys() == b.keys() and any(k.startswith("ema.module.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # the EMA generator is an average of G, not a copy
    pairs = [(a[k], a["ema.module." + k[len("generator."):]]) for k in a
             if k.startswith("generator.") and a[k].is_floating_point()]
    assert pairs and all(g.shape == e.shape for g, e in pairs)
    assert not all(torch.equal(g, e) for g, e in pairs)
    straight, split = _lines(tmp_path / "straight", "scores"), _lines(tmp_path / "split",
                                                                     "scores")
    assert [r["step"] for r in straight] == [2, 4, 6, 8] == [r["step"] for r in split]
    for x, y in zip(straight, split):
        assert x["network"] == y["network"] and x["n"] == y["n"] == 32.0
        for key in ("fid", "kid", "precision", "recall", "density", "coverage"):
            assert x[key] == pytest.approx(y[key], rel=1e-6, abs=1e-9), key
    best = {run: read_checkpoint(tmp_path / run / "checkpoints" / "best.safetensors")
            for run in ("straight", "split")}
    assert best["straight"][0]["state"]["best"] == best["split"][0]["state"]["best"]
    kept = best["straight"][0]["state"]["best"]
    assert kept["metric"] == "fid" and kept["value"] == min(r["fid"] for r in straight)
    assert kept["step"] == min(straight, key=lambda r: r["fid"])["step"]
    for key in best["straight"][1]:
        assert torch.equal(best["straight"][1][key], best["split"][1][key]), key
    # keep_checkpoints=1 prunes step checkpoints, never the best one
    assert [p.name for p in list_checkpoints(tmp_path / "straight")] == [
        "step-00000008.safetensors"]


def test_run_outputs(tiny_run):
    run = tiny_run
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["resolution"] == 32 and cfg["channels"] == 1 and cfg["steps"] == 6
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4, 6]
    assert {"loss_d", "loss_g", "d_x", "d_g_z", "images_per_s"} <= lines[0].keys()
    assert 0 < lines[-1]["d_x"] < 1
    assert (run / "samples" / "step-00000003.png").is_file()
    assert (run / "samples" / "final.png").is_file()
    assert [p.name for p in list_checkpoints(run)] == ["step-00000003.safetensors",
                                                        "step-00000006.safetensors"]


def test_checkpoint_is_safetensors_with_plain_state(tiny_run):
    path = latest_checkpoint(tiny_run)
    with safe_open(str(path), framework="pt") as fh:
        header = json.loads(fh.metadata()["gantk"])
        keys = list(fh.keys())
    assert header["state"]["step"] == 6
    assert header["state"]["config"]["architecture"] == "dcgan"
    assert any(k.startswith("optim.generator.state.") for k in keys)
    assert "rng.torch" in keys and any(k.startswith("discriminator.") for k in keys)
    assert not list((tiny_run / "checkpoints").glob("*.tmp"))


def test_loaded_run_generates(tiny_run):
    run = load_run(tiny_run)
    assert run.step == 6 and not run.generator.training
    x = run.generator(run.sample_z(4))
    assert x.shape == (4, 1, 32, 32)


def test_nan_stops_with_step_and_checkpoint(tiny_config, tmp_path):
    trainer = Trainer(make_config(tiny_config, {"steps": 6}), tmp_path / "run",
                      log=lambda m: None)
    real_step = trainer.train_step

    def poisoned(batches):
        stats = real_step(batches)
        if trainer.step >= 4:
            stats["loss_g"] = stats["loss_g"] * float("nan")
        return stats

    trainer.train_step = poisoned
    with pytest.raises(TrainingError) as err:
        trainer.fit()
    assert "step 5" in str(err.value) and "step-00000003.safetensors" in str(err.value)


def test_existing_run_needs_resume(tiny_config, tiny_run):
    with pytest.raises(ConfigError, match="--resume"):
        _train(tiny_config, tiny_run)


@pytest.mark.parametrize("override,message", [
    ({"architecture": "nope"}, "unknown architecture 'nope'"),
    ({"resolution": 64}, "holds 32x32 images"),
    ({"lr": -1}, "lr: Input should be greater than 0"),
    ({"batch_size": 1000}, "fewer than one batch"),
])
def test_bad_config_fails_before_work(tiny_config, tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        _train(tiny_config, tmp_path / "run", **override)
    assert not (tmp_path / "run").exists()


def test_architecture_resolution_is_checked(tmp_path):
    from tests.conftest import write_store

    store = write_store(tmp_path / "s8", count=20, resolution=8)
    with pytest.raises(ConfigError, match="cannot make 8x8"):
        _train({"data": str(store), "batch_size": 4, "steps": 1}, tmp_path / "run")
