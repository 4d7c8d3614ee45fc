"""The command line as a user meets it: start-up cost, errors, JSON outputs, a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import scoring

GANTK = [sys.executable, "-m", "gantk"]


def _cli(*args, env=None, check=False):
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([*GANTK, *args], capture_output=True, text=True, env=full_env,
                          timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_help_does_not_import_torch():
    code = ("import sys; from gantk.cli.app import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "assert 'dagster' not in sys.modules, 'dagster imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout and "plugins" in proc.stdout


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
    (["run", "dcgan", "--set", "best_metric=fid", "--data", "{store}"],
     "best_metric 'fid' is not a score"),
    (["info", "{plain}"], "not an ImageStore"),
])
def test_bad_input_is_one_line_exit_2(small_store, tmp_path, args, message):
    plain = tmp_path / "plain"
    plain.mkdir()
    args = [a.format(store=small_store, plain=plain) for a in args]
    proc = _cli(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in proc.stderr


def test_debug_shows_traceback():
    proc = _cli("--debug", "run", "nope")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


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
