"""`gantk compare`: runs and sweeps written in the metrics.jsonl format of the trainer
(loss lines) and of in-training evaluation (`kind: scores` lines), compared point by point."""

from __future__ import annotations

import json
import math
import statistics

from PIL import Image

from gantk.experiments.manifest import FAILED, PENDING, Manifest, RunEntry
from tests.cli_helpers import gantk_in_process

FIDS = {  # point -> seed -> fid at steps 10, 20 (lower is better)
    "lr=2e-4": {0: [80.0, 50.0], 1: [90.0, 40.0], 2: [55.0, 60.0]},
    "lr=1e-3": {0: [120.0, 110.0], 1: [100.0, 130.0]},  # seed 2 failed (NaN)
}


def _write_run(run_dir, seed, fids, steps=20, nan_at=None):
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"seed": seed, "steps": steps}))
    lines = []
    for i, fid in enumerate(fids):
        step = 10 * (i + 1)
        loss = math.nan if nan_at == step else 0.7
        lines.append({"step": step, "loss_d": loss, "loss_g": 1.1, "d_x": 0.6, "d_g_z": 0.4,
                      "images_per_s": 100.0 * (seed + 1)})
        lines.append({"step": step, "kind": "scores", "fid": fid, "kid": fid / 1000,
                      "precision": 0.5, "recall": 0.4, "network": "test", "n": 64})
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def _sweep(root):
    runs = []
    for point, seeds in FIDS.items():
        for seed, fids in seeds.items():
            _write_run(root / point / f"seed-{seed}", seed, fids)
            runs.append(RunEntry(point, seed, {}, "done", step=20))
    _write_run(root / "lr=1e-3" / "seed-2", 2, [150.0], nan_at=10)
    runs.append(RunEntry("lr=1e-3", 2, {}, FAILED, "a loss became NaN/Inf at step 7"))
    runs.append(RunEntry("lr=5e-3", 0, {}, PENDING))  # never started: a row, not a gap
    Manifest({"preset": "dcgan", "grid": {}, "seeds": [0, 1, 2], "base": {}},
             runs).save(root)
    return root


def test_sweep_table_plot_and_json(capsys, tmp_path):
    sweep = _sweep(tmp_path / "sweep")
    code, out, err = gantk_in_process(capsys, "compare", sweep, "--json")
    assert code == 0, err
    points = {p["point"]: p for p in json.loads(out)["points"]}
    good = points["lr=2e-4"]
    finals = [f[-1] for f in FIDS["lr=2e-4"].values()]
    assert good["final"]["mean"] == statistics.fmean(finals)
    assert good["final"]["std"] == statistics.stdev(finals)
    assert good["best"]["mean"] == statistics.fmean([50.0, 40.0, 55.0])
    assert good["images_per_s"]["mean"] == 200.0 and good["status"] == "done"
    bad = points["lr=1e-3"]
    assert bad["final"]["n"] == 2  # the failed seed is counted in the status, not the mean
    assert bad["status"] == "2 done, 1 failed: a loss became NaN/Inf at step 7"
    assert points["lr=5e-3"]["status"] == "1 pending" and points["lr=5e-3"]["final"]["n"] == 0

    text = (sweep / "compare.md").read_text()
    assert "| lr=2e-4 | 3 | done | 50 ± 10 | 48.33 ± 7.6 | 200 | 20 |" in text
    assert "| lr=1e-3 | 3 | 2 done, 1 failed: a loss became NaN/Inf" in text
    assert "| lr=5e-3 | 1 | 1 pending | — | — | — | — |" in text
    assert "best final fid: lr=2e-4" in text and "](compare.png)" in text
    with Image.open(sweep / "compare.png") as png:
        assert png.format == "PNG" and png.width > 300


def test_runs_and_other_metrics(capsys, tmp_path):
    """Bare run folders are points of their own; a NaN loss marks a run failed."""
    _write_run(tmp_path / "a", 0, [60.0, 30.0])
    _write_run(tmp_path / "b", 1, [50.0, 45.0], nan_at=20)
    code, out, err = gantk_in_process(capsys, "compare", tmp_path / "a", tmp_path / "b",
                                      "--metric", "precision", "--out", tmp_path / "cmp")
    assert code == 0, err
    assert "| a | 1 | done | 0.5 | 0.5 |" in out
    assert "| b | 1 | 1 failed: a loss became NaN/Inf by step 20 | — |" in out
    assert (tmp_path / "cmp" / "compare.png").is_file()


def test_metric_nobody_recorded_says_so(capsys, tmp_path):
    _write_run(tmp_path / "a", 0, [60.0])
    code, out, _ = gantk_in_process(capsys, "compare", tmp_path / "a", "--metric", "is",
                                    "--out", tmp_path / "cmp")
    assert code == 0 and "no run recorded 'is' yet" in out and "fid" in out
    assert not (tmp_path / "cmp" / "compare.png").exists()


def test_not_a_run(capsys, tmp_path):
    code, _, err = gantk_in_process(capsys, "compare", tmp_path)
    assert code == 2 and "neither a gantk run" in err and len(err.strip().splitlines()) == 1
