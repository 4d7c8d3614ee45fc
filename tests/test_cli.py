"""The command line as a user meets it: start-up cost, errors, JSON outputs, a real run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.cli_helpers import gantk_in_process
from tests.conftest import scoring, write_store

GANTK = [sys.executable, "-m", "gantk"]


def _cli(*args, env=None, check=False):
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([*GANTK, *args], capture_output=True, text=True, env=full_env,
                          timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_help_and_bad_names_do_not_import_torch():
    """`--help`, and refusing a misspelt preset or key, cost no torch import."""
    code = ("import sys; from gantk.cli.app import main\n"
            "for argv in (['--help'], ['run', 'nope'], ['run', 'dcgan', '--set', 'lr=x'],\n"
            "             ['run', 'dcgan', '--set', 'bogus=1']):\n"
            "    try:\n        main(argv)\n    except SystemExit as exc:\n"
            "        print('exit', exc.code)\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "assert 'dagster' not in sys.modules, 'dagster imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout and "plugins" in proc.stdout
    assert proc.stdout.count("exit 2") == 3
    assert "unknown preset 'nope'" in proc.stderr and "unknown key 'bogus'" in proc.stderr


def test_plugins_json():
    doc = json.loads(_cli("plugins", "--json", check=True).stdout)
    names = {p["module"]: p for p in doc["plugins"]}
    dcgan = names["gantk.plugins.architectures.dcgan"]
    assert dcgan["package"] == "gantk" and dcgan["registered"] == {"architecture": ["dcgan"]}
    assert "register_architectures" in dcgan["hooks"] and dcgan["version"]
    assert "dcgan" in doc["registered"]["preset"]


def test_info_json(small_store):
    doc = json.loads(_cli("info", str(small_store), "--json", check=True).stdout)
    assert (doc["count"], doc["resolution"], doc["channels"]) == (96, 32, 1)
    assert os.path.isfile(doc["preview"])


@pytest.mark.parametrize("args,message", [
    (["run", "nope"], "unknown preset 'nope'"),
    (["run", "dcgan", "--data", "/no/such/store"], "no such ImageStore"),
    (["run", "dcgan", "--set", "lr=-0.1", "--data", "{store}"], "lr: Input should be"),
    (["run", "dcgan", "--set", "architecture=zzz", "--data", "{store}"], "registered: dcgan"),
    (["run", "dcgan", "--set", "resolution=64", "--data", "{store}"], "holds 32x32"),
    (["run", "dcgan", "--log", "nope", "--data", "{store}"], "unknown tracker 'nope'"),
    (["run", "dcgan", "--set", "best_metric=fid", "--data", "{store}"],
     "best_metric 'fid' is not a score"),
    (["info", "{plain}"], "not an ImageStore"),
])
def test_bad_input_is_one_line_exit_2(small_store, tmp_path, args, message, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    args = [a.format(store=small_store, plain=plain) for a in args]
    code, _, err = gantk_in_process(capsys, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_resume_refuses_other_data(tiny_run, tmp_path, capsys):
    """`--resume --data OTHER` would silently train on the recorded data: refused."""
    run = shutil.copytree(tiny_run, tmp_path / "run")
    recorded = json.loads((run / "config.json").read_text())["data"]
    other = write_store(tmp_path / "other", count=32)
    code, _, err = gantk_in_process(capsys, "run", "dcgan", "--resume", "--out", str(run),
                                    "--data", str(other))
    assert code == 2 and "drop --data" in err and recorded in err
    code, _, err = gantk_in_process(capsys, "run", "dcgan", "--resume", "--out", str(run),
                                    "--data", recorded, "--steps", "7")
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["steps"] == 7


def test_debug_shows_traceback():
    proc = _cli("--debug", "run", "nope")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


@pytest.mark.slow
def test_run_and_resume_from_cli(small_store, tiny_net, tmp_path):
    out = tmp_path / "run"
    scores = json.dumps(scoring(tiny_net)["eval_options"])
    args = ["run", "dcgan", "--data", str(small_store), "--out", str(out), "--batch-size", "16",
            "--device", "cpu", "--seed", "1", "--set", "model.ngf=8", "--set", "model.ndf=8",
            "--set", "checkpoint_every=2", "--set", "eval_every=2", "--set", "eval_n=32",
            "--set", f"eval_options={scores}", "--set", "best_metric=fid"]
    proc = _cli(*args, "--steps", "2", check=True)
    assert "samples" in proc.stdout and str(out) in proc.stdout
    assert "step 2: fid" in proc.stderr and "best fid so far" in proc.stderr
    proc = _cli("run", "dcgan", "--resume", "--out", str(out), "--steps", "4", check=True)
    assert "resumed from" in proc.stderr and "step 4: fid" in proc.stderr
    assert (out / "checkpoints" / "step-00000004.safetensors").is_file()
    assert (out / "checkpoints" / "best.safetensors").is_file()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["steps"] == 4 and cfg["model"] == {"ngf": 8, "ndf": 8}
