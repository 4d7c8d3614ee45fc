"""`gantk sweep`: a tiny real sweep (2 points x 2 seeds x a few steps on a tiny store),
killed with SIGKILL in a real subprocess and continued, ends equal to an uninterrupted one;
bad grids are refused before any work; a failing point is recorded and the sweep goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gantk.experiments.grid import parse_grid, points
from gantk.training.checkpoint import latest_checkpoint, list_checkpoints, read_checkpoint
from tests.cli_helpers import gantk_in_process

TINY = ["--steps", "6", "--batch-size", "16", "--device", "cpu",
        "--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "checkpoint_every=2",
        "--set", "log_every=2", "--set", "sample_every=100"]
GRID = ["--grid", "lr=2e-4,1e-3", "--seeds", "2"]
RUNS = ["lr=2e-4/seed-0", "lr=2e-4/seed-1", "lr=1e-3/seed-0", "lr=1e-3/seed-1"]


def _sweep_args(store, out, *extra):
    return ["sweep", "dcgan", "--data", str(store), *TINY, *GRID, "--out", str(out), *extra]


def _manifest(out):
    return json.loads((out / "sweep.json").read_text())


def test_grid_points_and_names():
    grid = parse_grid(["lr=1e-4,2e-4", "loss=nonsaturating,hinge", "model.ngf=8"])
    names = [p.name for p in points(grid)]
    assert names[0] == "lr=1e-4,loss=nonsaturating,model.ngf=8" and len(names) == 4
    assert points(grid)[3].settings() == {"lr": 2e-4, "loss": "hinge", "model.ngf": 8}


@pytest.mark.parametrize("grid,message", [
    ("lr", "expected key=value1,value2"),
    ("bogus=1,2", "unknown key 'bogus'"),
    ("seed=1,2", "seeds are swept with --seeds N"),
    ("lr=1e-4,-1", "lr: Input should be greater than 0"),
    ("loss=hinge,nope", "unknown loss 'nope'"),
])
def test_bad_grid_is_refused_before_work(capsys, small_store, tmp_path, grid, message):
    out = tmp_path / "sweep"
    code, _, err = gantk_in_process(capsys, "sweep", "dcgan", "--data", small_store,
                                    "--grid", grid, "--out", out)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(capsys, small_store, tmp_path):
    """batch 1000 > the store's 96 images: refused by the trainer (not knowable before the
    data is read), recorded with its reason; the other point trains; compare shows both."""
    out = tmp_path / "sweep"
    code, stdout, err = gantk_in_process(
        capsys, "sweep", "dcgan", "--data", small_store, *TINY[2:], "--steps", "2",
        "--grid", "batch_size=1000,16", "--out", out)
    assert code == 0, err
    runs = {r["point"]: r for r in _manifest(out)["runs"]}
    assert runs["batch_size=1000"]["status"] == "failed"
    assert "fewer than one batch" in runs["batch_size=1000"]["reason"]
    assert runs["batch_size=16"]["status"] == "done" and runs["batch_size=16"]["step"] == 2
    assert "1 runs finished, 1 failed" in stdout
    code, table, _ = gantk_in_process(capsys, "compare", out, "--metric", "loss_d")
    assert "| batch_size=1000 | 1 | 1 failed: " in table and "| batch_size=16 | 1 | done |" in table
    # a rerun of a finished sweep trains nothing; another grid in the same folder is refused
    code, _, err = gantk_in_process(capsys, "sweep", "dcgan", "--data", small_store,
                                    *TINY[2:], "--steps", "2", "--grid",
                                    "batch_size=1000,16", "--out", out)
    assert code == 0 and "starting" not in err
    code, _, err = gantk_in_process(capsys, "sweep", "dcgan", "--data", small_store,
                                    "--grid", "lr=1e-3", "--out", out)
    assert code == 2 and "holds a different sweep (grid, base differ)" in err
    code, _, err = gantk_in_process(capsys, "sweep", "dcgan", "--data", small_store,
                                    "--out", out / "batch_size=16")
    assert code == 2 and "holds no sweep" in err


def _half_done(out):
    """A run with a checkpoint that the manifest does not count as done yet."""
    if not (out / "sweep.json").exists():
        return None
    status = {f"{r['point']}/seed-{r['seed']}": r["status"] for r in _manifest(out)["runs"]}
    for run in RUNS[1:]:
        ckpt = latest_checkpoint(out / run)
        unfinished = ckpt is not None and not ckpt.name.endswith("6.safetensors")
        if unfinished and status[run] == "pending":
            return run
    return None


@pytest.mark.slow
def test_killed_sweep_continues_to_the_uninterrupted_result(capsys, small_store, tmp_path):
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    proc = subprocess.Popen([sys.executable, "-m", "gantk", *_sweep_args(small_store, killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())})
    deadline = time.monotonic() + 300
    half = None
    while half is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
        half = _half_done(killed)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert half is not None, f"the sweep ended before it could be killed: {err.decode()}"
    assert any(r["status"] == "pending" for r in _manifest(killed)["runs"])

    code, _, err = gantk_in_process(capsys, *_sweep_args(small_store, killed))
    assert code == 0, err
    assert f"{half}: resuming" in err and "lr=2e-4/seed-0: starting" not in err
    code, _, err = gantk_in_process(capsys, *_sweep_args(small_store, straight))
    assert code == 0, err

    assert [r["status"] for r in _manifest(killed)["runs"]] == ["done"] * 4
    for run in RUNS:
        a, b = killed / run, straight / run
        assert [p.name for p in list_checkpoints(a)] == [p.name for p in list_checkpoints(b)]
        _, wa = read_checkpoint(latest_checkpoint(a))
        _, wb = read_checkpoint(latest_checkpoint(b))
        assert wa.keys() == wb.keys()
        for key in wa:
            assert torch.equal(wa[key], wb[key]), (run, key)
        la, lb = ([{k: v for k, v in json.loads(x).items() if k != "images_per_s"}
                   for x in (d / "metrics.jsonl").read_text().splitlines()] for d in (a, b))
        assert la == lb, run
        assert (a / "config.json").read_text() == (b / "config.json").read_text()


@pytest.mark.slow
def test_parallel_runs_each_in_its_own_process(capsys, small_store, tmp_path):
    out = tmp_path / "sweep"
    code, stdout, err = gantk_in_process(
        capsys, "sweep", "dcgan", "--data", small_store, *TINY[2:], "--steps", "2",
        "--grid", "lr=2e-4,1e-3", "--out", out, "--parallel", "2")
    assert code == 0, err
    assert [r["status"] for r in _manifest(out)["runs"]] == ["done", "done"]
    assert err.count("(subprocess)") == 2
    for run in ("lr=2e-4/seed-0", "lr=1e-3/seed-0"):
        assert "done: 2 steps" in (out / run / "sweep.log").read_text()
        assert latest_checkpoint(out / run).name == "step-00000002.safetensors"


def test_sweep_and_compare_refusals_do_not_import_torch(tmp_path):
    code = ("import sys; from gantk.cli.app import main\n"
            "for argv in (['sweep', 'dcgan', '--grid', 'bogus=1'],\n"
            f"             ['compare', {str(tmp_path)!r}],\n"
            "             ['config', 'dcgan', '--set', 'lr=x'], ['sweep', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit as exc:\n"
            "        print('exit', exc.code)\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("exit 2") == 3 and "--grid" in proc.stdout


def test_a_diverging_point_is_a_row_that_says_so(capsys, small_store, tmp_path):
    """lr=1e30 sends the losses to NaN/Inf: that run fails with the trainer's reason, the
    sweep goes on, and compare shows the point as failed beside the finished one."""
    out = tmp_path / "sweep"
    code, _, err = gantk_in_process(capsys, "sweep", "dcgan", "--data", small_store,
                                    *TINY[2:], "--steps", "4", "--grid", "lr=1e30,2e-4",
                                    "--out", out)
    assert code == 0, err
    runs = {r["point"]: r for r in _manifest(out)["runs"]}
    assert runs["lr=1e30"]["status"] == "failed"
    assert "NaN/Inf" in runs["lr=1e30"]["reason"]
    assert runs["lr=2e-4"]["status"] == "done"
    code, table, _ = gantk_in_process(capsys, "compare", out, "--metric", "loss_d")
    assert "| lr=1e30 | 1 | 1 failed: " in table and "NaN/Inf" in table
    assert "| lr=2e-4 | 1 | done |" in table
