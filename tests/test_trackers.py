"""Trackers: metric sinks chosen per run. TensorBoard event files read back (and a resumed
run shows no step twice), a third-party tracker fed by a real run, broken trackers
reported once while the training goes on, unknown or unavailable ones refused up front."""

from __future__ import annotations

import json

import pytest

from gantk.contract.registry import reset_registry
from gantk.errors import ConfigError
from gantk.training.checkpoint import list_checkpoints
from gantk.training.config import make_config
from gantk.training.trainer import Trainer
from tests.tracker_package import write_tracker_package


def _train(layers, run_dir, resume=False, log=None, **override):
    trainer = Trainer(make_config(layers, override), run_dir, resume=resume,
                      log=log if log is not None else (lambda m: None))
    return trainer.fit()


@pytest.fixture
def tracker_plugin(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(write_tracker_package(tmp_path / "site")))
    reset_registry()
    yield
    reset_registry()


def _events(log_dir):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def _curve(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_tensorboard_scalars_and_images_resume_without_duplicates(tiny_config, tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    layers = {**tiny_config, "trackers": ["tensorboard"], "checkpoint_every": 2}
    # an interrupted run: it logged step 6 and the step-6 grids after its step-4
    # checkpoint, then lost the step-6 checkpoint; the resumed session logs them again
    _train(layers, run)
    list_checkpoints(run)[-1].unlink()
    _train(layers, run, resume=True)

    events = _events(run / "tensorboard")
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    for key in ("loss_d", "loss_g", "d_x", "d_g_z", "images_per_s"):
        steps, values = zip(*_curve(events, f"train/{key}"))
        assert steps == (2, 4, 6), key  # each step once: the first session's 6 is purged
        assert values == pytest.approx([m[key] for m in metrics], rel=1e-6), key
    assert "train/step" not in events.Tags()["scalars"]
    images = events.Images("samples")
    assert [i.step for i in images] == [3, 6]
    assert images[0].width == images[0].height > 32  # an 8x8 grid of 32x32 samples
    assert [i.step for i in events.Images("samples/final")] == [6]
    assert "config/text_summary" in events.Tags()["tensors"]  # the run's config as text


def test_tensorboard_score_curves(tmp_path, tiny_config):
    """Scores (and the numbers describing them) become `scores/*` curves; names stay in
    metrics.jsonl."""
    pytest.importorskip("tensorboard")
    from gantk.contract.registry import get_registry

    config = make_config(tiny_config)
    sink = get_registry().get("tracker", "tensorboard").open(tmp_path, config)
    sink.start(config, 0)
    sink.scores(250, {"fid": 41.5, "kid": 0.031, "n": 2000, "network": "fid-helper",
                      "prdc": {"precision": 0.5, "recall": 0.25}, "ok": True})
    sink.scores(500, {"fid": 30.25, "kid": 0.02, "n": 2000, "network": "fid-helper",
                      "prdc": {"precision": 0.625, "recall": 0.375}, "ok": True})
    sink.close()
    acc = _events(tmp_path / "tensorboard")
    assert _curve(acc, "scores/fid") == [(250, 41.5), (500, 30.25)]
    assert _curve(acc, "scores/prdc/recall") == [(250, 0.25), (500, 0.375)]
    assert [s for s, _ in _curve(acc, "scores/kid")] == [250, 500]
    assert not {"scores/network", "scores/ok"} & set(acc.Tags()["scalars"])


@pytest.mark.hooks("register_trackers")
def test_third_party_tracker_and_broken_ones(tracker_plugin, tiny_config, tmp_path):
    lines: list[str] = []
    run = tmp_path / "run"
    result = _train(tiny_config, run, log=lines.append,
                    trackers=["broken-open", "recorder", "broken-scalars"])
    assert result.step == 6 and not result.interrupted
    calls = [json.loads(x) for x in (run / "recorder.jsonl").read_text().splitlines()]
    assert calls[0] == {"call": "start", "step": 0, "architecture": "dcgan"}
    assert [c["step"] for c in calls if c["call"] == "scalars"] == [2, 4, 6]
    assert {"loss_d", "loss_g", "d_x", "d_g_z", "images_per_s"} <= set(calls[1]["keys"])
    assert [(c["name"], c["exists"]) for c in calls if c["call"] == "image"] == [
        ("step-00000003", True), ("step-00000006", True), ("final", True)]
    assert calls[-1] == {"call": "close"}
    # metrics.jsonl is written whatever the trackers do
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] \
        == [2, 4, 6]
    warnings = [x for x in lines if x.startswith("warning: tracker")]
    assert len(warnings) == 2, lines
    assert "broken-open could not start (ConnectionError: no route to tracker host)" in \
        warnings[0]
    assert "broken-scalars failed in scalars (RuntimeError: the tracker server went away)" \
        in warnings[1]
    assert all("training goes on" in w for w in warnings)
    # the broken tracker was dropped after its one report: nothing reached it after that
    assert [json.loads(x)["call"] for x in (run / "broken.jsonl").read_text().splitlines()] \
        == ["start"]


@pytest.mark.parametrize("trackers,message", [
    (["nope"], "unknown tracker 'nope'; registered: "),
    (["needs-frobnicate"], "tracker 'needs-frobnicate' cannot run here: the frobnicate "
                           "package is not installed"),
])
def test_unknown_or_unavailable_tracker_is_refused_before_work(
        tracker_plugin, tiny_config, tmp_path, trackers, message):
    with pytest.raises(ConfigError, match=message):
        _train(tiny_config, tmp_path / "run", trackers=trackers)
    assert not (tmp_path / "run").exists()


def test_jsonl_is_always_first_and_once():
    from gantk.training.trackers import tracker_names

    config = make_config({"trackers": ["tensorboard", "jsonl", "tensorboard"]})
    assert tracker_names(config) == ["jsonl", "tensorboard"]
    assert tracker_names(make_config({})) == ["jsonl"]


@pytest.mark.slow
def test_mlflow_run_in_the_run_directory_continues_on_resume(tiny_config, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    run = tmp_path / "run"
    layers = {**tiny_config, "trackers": ["mlflow"]}
    _train(layers, run, steps=4)
    _train(layers, run, resume=True, steps=6)

    client = MlflowClient(tracking_uri=f"sqlite:///{run / 'mlflow' / 'mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "gantk"]
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.run_id == (run / "mlflow" / "run_id").read_text()
    assert found.info.status == "FINISHED" and found.info.run_name == "run"
    history = client.get_metric_history(found.info.run_id, "train/loss_d")
    assert [m.step for m in history] == [2, 4, 6]
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m.value for m in history] == pytest.approx([m["loss_d"] for m in metrics])
    params = found.data.params
    assert (params["lr"], params["model.ngf"], params["architecture"]) == ("0.0002", "8", "dcgan")
    assert params["steps"] == "4"  # MLflow params are immutable: the first session's value
    samples = {a.path for a in client.list_artifacts(found.info.run_id, "samples")}
    assert {"samples/step-00000003.png", "samples/step-00000006.png",
            "samples/final.png"} <= samples
