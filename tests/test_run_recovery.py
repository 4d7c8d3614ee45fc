"""Runs as people really treat them (issue 15): retuned on resume, damaged checkpoints,
config files and metrics lines, bad model options, killed before the first checkpoint.
Real safetensors files and real run directories, trained once per module."""

from __future__ import annotations

import json
import shutil
import struct

import pytest
from safetensors.torch import load_file, save_file

from gantk.errors import ConfigError, StoreError
from gantk.training.checkpoint import latest_checkpoint, read_checkpoint
from gantk.training.config import make_config
from gantk.training.recovery import read_metrics
from gantk.training.runs import load_run, read_run_config
from gantk.training.trainer import Trainer
from tests.conftest import write_store

TINY = {"architecture": "dcgan", "batch_size": 16, "steps": 6, "model": {"ngf": 8, "ndf": 8},
        "log_every": 2, "sample_every": 3, "checkpoint_every": 3, "seed": 3, "device": "cpu"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 6-step tiny run (checkpoints at 3 and 6), shared read-only."""
    root = tmp_path_factory.mktemp("trained")
    store = write_store(root / "store", count=96)
    run = root / "run"
    Trainer(make_config(TINY, {"data": str(store)}), run).fit()
    return run


@pytest.fixture
def run_copy(trained, tmp_path):
    return shutil.copytree(trained, tmp_path / "run")


def _resume(run_dir, **changes):
    config = make_config(read_run_config(run_dir).model_dump(exclude_none=True), changes)
    return Trainer(config, run_dir, resume=True, log=lambda _: None)


def _data_offset(path) -> int:
    """Where a safetensors file's tensor bytes start (after its 8-byte length + header)."""
    with open(path, "rb") as fh:
        return 8 + struct.unpack("<Q", fh.read(8))[0]


def test_resume_applies_retuned_optimizer_settings(run_copy):
    trainer = _resume(run_copy, steps=8, lr=1e-4, lr_d=3e-4, beta1=0.3, beta2=0.99,
                      weight_decay=1e-5)
    for opt, lr in ((trainer.opt_g, 1e-4), (trainer.opt_d, 3e-4)):
        for group in opt.param_groups:
            assert group["lr"] == lr and tuple(group["betas"]) == (0.3, 0.99)
            assert group["weight_decay"] == 1e-5
    trainer.fit()
    # what is recorded is what was used: config.json and the new checkpoint's optimizer
    header, _ = read_checkpoint(latest_checkpoint(run_copy))
    assert header["state"]["step"] == 8
    assert header["optimizers"]["generator"]["param_groups"][0]["lr"] == 1e-4
    assert header["optimizers"]["discriminator"]["param_groups"][0]["lr"] == 3e-4
    assert read_run_config(run_copy).lr == 1e-4


@pytest.mark.parametrize("where", [0.0, 0.5, 1.0])  # first, middle and last tensor bytes
def test_flipped_checkpoint_bytes_are_detected(run_copy, where):
    path = latest_checkpoint(run_copy)
    blob = bytearray(path.read_bytes())
    start = _data_offset(path)
    blob[min(start + int(where * (len(blob) - start)), len(blob) - 1)] ^= 0x10  # one bit
    path.write_bytes(bytes(blob))
    with pytest.raises(StoreError, match="damaged: its tensors do not match the checksum"):
        read_checkpoint(path)
    with pytest.raises(StoreError, match="damaged"):
        _resume(run_copy, steps=8)
    with pytest.raises(StoreError, match="damaged"):
        load_run(run_copy)


@pytest.mark.parametrize("header, message", [
    ("{not json", "damaged gantk header"),
    (json.dumps({"format": "gantk-checkpoint/1"}), "without state, optimizers"),
])
def test_damaged_checkpoint_header_is_one_line(run_copy, header, message):
    path = latest_checkpoint(run_copy)
    save_file(load_file(path), str(path), metadata={"gantk": header})
    with pytest.raises(StoreError, match=message):
        _resume(run_copy, steps=8)
    with pytest.raises(StoreError, match=message):
        load_run(run_copy)


def test_checkpoint_of_another_width_is_one_line(run_copy):
    config = json.loads((run_copy / "config.json").read_text())
    config["model"]["ngf"] = 16
    (run_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(StoreError, match="does not fit the run's generator.*size mismatch"):
        load_run(run_copy)
    with pytest.raises(StoreError, match="another architecture or width"):
        _resume(run_copy, steps=8)


@pytest.mark.parametrize("text, message", [
    ('{"architecture": "dcgan", ', "is damaged \\(not JSON"),
    ('{"architecture": "dcgan", "bogus": 1}', "bogus: Extra inputs are not permitted"),
])
def test_damaged_config_json_is_one_line(run_copy, text, message):
    (run_copy / "config.json").write_text(text)
    with pytest.raises(StoreError, match=message):
        read_run_config(run_copy)


def test_torn_metrics_line_is_dropped_on_resume(run_copy):
    with open(run_copy / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 7, "loss_d": 0.')  # a power loss mid-line
    _resume(run_copy, steps=8).fit()
    lines = (run_copy / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(ln)["step"] for ln in lines] == [2, 4, 6, 8]


@pytest.mark.parametrize("option, detail", [
    ({"bogus": 1}, "unknown option.*bogus"),
    ({"ngf": "abc"}, "ngf=.abc.: input should be a valid integer"),
    ({"ngf": -4}, "ngf=-4: input should be greater than or equal to 1"),
])
def test_bad_model_options_are_one_line(small_store, tmp_path, option, detail):
    layer = {"model": option}  # as `--set model.bogus=1`, `model.ngf=abc`, `model.ngf=-4`
    with pytest.raises(ConfigError, match=f"architecture 'dcgan'.*{detail}"):
        Trainer(make_config(TINY, {"data": str(small_store)}, layer), tmp_path / "run")
    assert not (tmp_path / "run" / "config.json").exists()


def test_resume_without_checkpoint_starts_from_step_zero(run_copy):
    shutil.rmtree(run_copy / "checkpoints")  # as if killed before the first checkpoint
    (run_copy / "checkpoints").mkdir()
    stale = run_copy / "checkpoints" / ".step-00000003.safetensors.x1y2.tmp"
    stale.write_bytes(b"\0" * 1000)  # what a killed checkpoint write leaves
    trainer = _resume(run_copy, steps=3)
    assert trainer.step == 0 and not stale.exists()
    trainer.fit()
    assert [r["step"] for r in read_metrics(run_copy / "metrics.jsonl")] == [2, 3]
    assert read_checkpoint(latest_checkpoint(run_copy))[0]["state"]["step"] == 3



def test_viz_out_that_is_a_file_and_huge_n_are_one_line(run_copy, tmp_path):
    from gantk.evaluation.runner import run_eval

    target = tmp_path / "existing.png"
    target.write_bytes(b"keep me")
    with pytest.raises(ConfigError, match="--out .*existing.png is a file"):
        run_eval("samples", run_copy, out_dir=target, device="cpu")
    assert target.read_bytes() == b"keep me"
    with pytest.raises(ConfigError, match="n.*less than or equal to 4096"):
        run_eval("samples", run_copy, options={"n": 100_000_000}, device="cpu")
