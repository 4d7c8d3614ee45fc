"""Run files: `gantk run --config FILE` (TOML or a run's config.json), layered
preset < file < flags < --set, and `gantk config PRESET` printing one."""

from __future__ import annotations

import json

import pytest

from gantk.errors import ConfigError
from gantk.training.request import RunRequest, check_request
from gantk.training.run_file import read_run_file
from tests.cli_helpers import gantk_in_process


def _toml(path, text):
    path.write_text(text)
    return path


def test_layers_preset_file_flags_set(tmp_path):
    run_file = _toml(tmp_path / "run.toml", 'preset = "dcgan"\nlr = 1e-3\nbeta1 = 0.9\n'
                     'seed = 5\n[model]\nngf = 8\n')
    config = check_request(RunRequest(None, flags={"seed": 7}, overrides=["beta1=0.7"],
                                      config_file=run_file))
    assert (config.preset, config.lr, config.beta1, config.seed) == ("dcgan", 1e-3, 0.7, 7)
    assert config.model["ngf"] == 8 and config.beta2 == 0.999  # the rest: the preset's


def test_loss_options_layer_like_model_options(tmp_path):
    """`[loss_options]` in a run file merges key by key with `--set loss.KEY=VALUE`; a bad
    value there is refused like one typed on the command line."""
    run_file = _toml(tmp_path / "run.toml", 'preset = "wgan-gp"\n[loss_options]\n'
                     'gp_weight = 5.0\ncritic_steps = 2\n')
    config = check_request(RunRequest(None, overrides=["loss.critic_steps=1"],
                                      config_file=run_file))
    assert config.loss == "wgan-gp" and config.loss_options == {"gp_weight": 5.0,
                                                                "critic_steps": 1}
    bad = _toml(tmp_path / "bad.toml", 'preset = "wgan-gp"\n[loss_options]\ngp_weight = -1\n')
    with pytest.raises(ConfigError, match="gp_weight=-1: input should be greater than 0"):
        check_request(RunRequest(None, config_file=bad))


@pytest.mark.parametrize("text,message", [
    ("lr = 1e-3\nbogus = 1\n", "unknown key(s) 'bogus'"),
    ("lr = -1\n", "lr: Input should be greater than 0"),
    ("lr = [\n", "not valid TOML"),
])
def test_bad_run_file_is_one_line(capsys, tmp_path, text, message):
    run_file = _toml(tmp_path / "run.toml", text)
    code, _, err = gantk_in_process(capsys, "run", "dcgan", "--config", run_file)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_run_file_must_name_a_preset(capsys, tmp_path):
    code, _, err = gantk_in_process(capsys, "run", "--config",
                                    _toml(tmp_path / "r.toml", "lr = 1e-3\n"))
    assert code == 2 and "no preset named" in err and "r.toml" in err


def test_config_prints_an_editable_run_file(capsys, tmp_path):
    code, out, _ = gantk_in_process(capsys, "config", "dcgan", "--set", "lr=1e-3",
                                    "--set", "model.ngf=8")
    assert code == 0 and "# steps: unset" in out
    doc = read_run_file(_toml(tmp_path / "printed.toml", out))
    assert doc["preset"] == "dcgan" and doc["lr"] == 1e-3 and doc["model"] == {"ngf": 8}
    # what it printed is a run file that resolves to the same configuration
    again = check_request(RunRequest(None, config_file=_toml(tmp_path / "c.toml", out)))
    assert again == check_request(RunRequest("dcgan", overrides=["lr=1e-3", "model.ngf=8"]))


def test_a_runs_config_json_is_a_run_file(capsys, tiny_config, tmp_path):
    """Train from a TOML file, then again from the first run's config.json: same config."""
    import tomli_w

    first = tmp_path / "first"
    layers = {**tiny_config, "steps": 2, "preset": "dcgan"}
    run_file = _toml(tmp_path / "run.toml", tomli_w.dumps(layers))
    code, _, err = gantk_in_process(capsys, "run", "--config", run_file, "--out", first)
    assert code == 0, err
    code, _, err = gantk_in_process(capsys, "run", "--config", first / "config.json",
                                    "--out", tmp_path / "second")
    assert code == 0, err
    a, b = (json.loads((tmp_path / d / "config.json").read_text()) for d in ("first", "second"))
    assert a == b and a["steps"] == 2 and a["model"]["ngf"] == 8


def test_missing_run_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        check_request(RunRequest("dcgan", config_file=tmp_path / "nope.toml"))


def test_request_carries_the_run_file(tmp_path):
    """Through JSON (the Dagster Pipes process) and `gantk run` arguments (torchrun,
    sweep subprocesses) the run file travels with the request."""
    run_file = _toml(tmp_path / "run.toml", 'preset = "dcgan"\n')
    request = RunRequest(None, tmp_path / "store", None, False, {"seed": 2}, ["lr=1e-3"],
                         run_file)
    assert RunRequest.from_json(request.to_json()) == request
    assert request.cli_args() == ["run", "dcgan", "--data", str(tmp_path / "store"),
                                  "--config", str(run_file), "--seed", "2", "--set", "lr=1e-3"]
