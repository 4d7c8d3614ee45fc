"""The trained model's in-training scores in Dagster: metadata, curve, best checkpoint and
the `fid_within` check, read from RUN/metrics.jsonl in the trainer's format."""

from __future__ import annotations

import base64
import io
import json

from PIL import Image

LOSS = {"loss_d": 1.2, "loss_g": 0.8, "d_x": 0.6, "d_g_z": 0.3, "images_per_s": 50.0}


def _run(tmp_path, fids, best=True):
    """A run directory as the trainer leaves it: loss lines, score lines, best checkpoint."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    lines = []
    for i, fid in enumerate(fids):
        step = 100 * (i + 1)
        lines.append({"step": step, **LOSS})
        lines.append({"step": step, "kind": "scores", "fid": fid, "kid": fid / 1000,
                      "precision": 0.1 * (i + 1), "network": "inception-v3", "n": 2048})
    lines.append('{"step": 999, "kind": "sco')  # a line being written right now
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    (run / "metrics.jsonl").write_text(text)
    if best:
        (run / "checkpoints" / "best.safetensors").write_bytes(b"weights")
    return run


def test_scores_become_metadata_curve_and_best_checkpoint(tmp_path):
    from gantk.pipelines.scores import score_metadata

    run = _run(tmp_path, [80.0, 40.0, 55.0])
    meta = score_metadata(run)
    assert meta["score_fid"].value == 55.0  # the final model's
    assert meta["best_fid"].value == 40.0 and meta["best_step"].value == 200
    assert meta["score_precision"].value == 0.1 * 3
    assert meta["score_evaluations"].value == 3
    assert meta["score_network"].value == "inception-v3"
    assert meta["best_checkpoint"].value == str(run / "checkpoints" / "best.safetensors")
    data = meta["score_curve"].value.split("base64,", 1)[1].rstrip(")")
    with Image.open(io.BytesIO(base64.b64decode(data))) as curve:
        assert curve.width >= 800  # three panels, legible
    assert (run / "samples" / "scores.png").is_file()


def test_a_run_without_scores_has_no_score_metadata(tmp_path):
    from gantk.pipelines.scores import score_metadata

    run = _run(tmp_path, [], best=False)
    assert score_metadata(run) == {}


def test_fid_within_judges_the_final_fid(tmp_path):
    from gantk.pipelines.checks import fid_within

    run = _run(tmp_path, [80.0, 40.0, 55.0])
    assert fid_within(run, 60.0).passed
    worse = fid_within(run, 50.0)
    assert not worse.passed and "final FID 55" in worse.description
    assert fid_within(run, None).passed  # no threshold, nothing to judge
    unscored = fid_within(_run(tmp_path / "other", []), 50.0)
    assert not unscored.passed and "scored no FID" in unscored.description


def test_no_nan_reads_score_lines_too(tmp_path):
    from gantk.pipelines.checks import no_nan

    run = _run(tmp_path, [80.0, float("nan")])  # json writes the NaN FID as NaN
    text = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text(text.rsplit("\n", 1)[0])  # a finished run's file
    result = no_nan(run)
    assert not result.passed and "200" in result.description


def test_only_allowed_launchers_run():
    import sys

    from gantk.pipelines.resources import TrainingPolicy

    policy = TrainingPolicy()
    assert policy.launcher_problem([]) is None
    assert policy.launcher_problem([sys.executable]) is None
    assert policy.launcher_problem(["torchrun", "--nproc-per-node=2"]) is None
    assert "not allowed" in policy.launcher_problem(["bash", "-c", "rm -rf /"])
    assert "not allowed" in policy.launcher_problem(["/tmp/evil/torchrun"])
    assert TrainingPolicy(allowed_launchers=["/opt/bin/srun"]).launcher_problem(
        ["/opt/bin/srun", "-n2"]) is None


def test_metrics_lines_show_the_numbers_of_score_records():
    """A score record (text fields among the numbers) streams as a readable log line."""
    from gantk.pipelines.pipes_reporter import metrics_line

    record = {"step": 200, "kind": "scores", "fid": 41.25, "network": "inception-v3",
              "n": 2048}
    assert metrics_line(record) == "step 200: fid=41.25  n=2048"
    assert metrics_line({"step": 3, "loss_d": 1.23456}) == "step 3: loss_d=1.235"
