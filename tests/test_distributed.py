"""Distributed training: 2 CPU processes under torchrun (gloo) train identical replicas,
write one set of outputs, and resume exactly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from torch import nn

from gantk.errors import ConfigError
from gantk.training.checkpoint import latest_checkpoint, read_checkpoint
from gantk.training.distributed import World, param_digest, replicate
from gantk.training.launch import torchrun_command
from gantk.training.runs import load_run
from gantk.training.trainer import choose_amp_dtype, frozen
from tests.conftest import write_store

TINY = ["--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "log_every=2",
        "--set", "sample_every=2", "--set", "checkpoint_every=2", "--set", "seed=5"]


def _gantk(args: list[str], nproc: int, via_launcher: bool) -> subprocess.CompletedProcess:
    if via_launcher:
        cmd = [sys.executable, "-m", "gantk", *args, "--nproc", str(nproc)]
    else:
        cmd = torchrun_command(nproc, args)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _final(run_dir):
    header, tensors = read_checkpoint(latest_checkpoint(run_dir))
    return header["state"], tensors


@pytest.mark.slow
def test_two_cpu_ranks_agree_and_resume_exactly(tmp_path):
    store = write_store(tmp_path / "store", count=64)
    common = ["run", "dcgan", "--data", str(store), "--batch-size", "8", "--device", "cpu",
              *TINY, "--set", "ema=0.999"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    proc = _gantk([*common, "--out", str(straight), "--steps", "4"], 2, via_launcher=True)
    assert "x 2 processes" in proc.stderr and proc.stdout.count("done: 4 steps") == 1
    # the same run as if stopped after its step-2 checkpoint, then resumed under torchrun
    (split / "checkpoints").mkdir(parents=True)
    for name in ("config.json", "metrics.jsonl", "checkpoints/step-00000002.safetensors"):
        shutil.copy(straight / name, split / name)
    _gantk([*common, "--out", str(split), "--steps", "4", "--resume"], 2, via_launcher=False)

    state, weights = _final(straight)
    digests = state["replica_digests"]
    assert state["step"] == 4 and state["world_size"] == 2 and len(digests) == 2
    # both ranks hold the weights rank 0 saved (the trained G, not the EMA one)
    run = load_run(straight, generator="raw")
    assert digests[0] == digests[1] == param_digest(run.generator, run.discriminator)
    # only rank 0 wrote: one metrics line per logging step, losses averaged over ranks
    lines = [json.loads(x) for x in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4]
    assert sorted(p.name for p in (straight / "samples").iterdir()) == [
        "final.png", "step-00000002.png", "step-00000004.png"]

    resumed_state, resumed = _final(split)
    assert resumed_state["step"] == 4
    assert resumed_state["replica_digests"][0] == resumed_state["replica_digests"][1]
    assert weights.keys() == resumed.keys() and any(k.startswith("ema.") for k in weights)
    for key in weights:
        if not key.startswith("rng."):
            assert torch.equal(weights[key], resumed[key]), key
    resumed_lines = [json.loads(x) for x in (split / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in resumed_lines] == [2, 4]
    assert resumed_lines[-1]["loss_d"] == pytest.approx(lines[-1]["loss_d"], rel=1e-6)


def test_sync_batchnorm_on_cpu_is_refused():
    with pytest.raises(ConfigError, match="sync_batchnorm needs CUDA"):
        replicate(nn.BatchNorm2d(4), torch.device("cpu"), World(rank=0, size=2), True)


def test_single_process_trains_the_module_itself():
    module = nn.Linear(2, 2)
    assert replicate(module, torch.device("cpu"), World(), sync_batchnorm=True) is module


def test_amp_policy():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert choose_amp_dtype(cpu, None, lambda: True) is None
    assert choose_amp_dtype(cuda, False, lambda: True) is None
    assert choose_amp_dtype(cuda, None, lambda: True) is torch.bfloat16
    assert choose_amp_dtype(cuda, True, lambda: False) is torch.float16


def test_frozen_module_passes_input_gradients_only():
    d = nn.Linear(3, 1)
    x = torch.randn(4, 3, requires_grad=True)
    with frozen(d):
        d(x).sum().backward()
    assert x.grad is not None and d.weight.grad is None
    assert all(p.requires_grad for p in d.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_step_has_no_host_sync(tiny_config, tmp_path):
    """On a GPU the step runs autocast + fused Adam without a single host sync."""
    from gantk.training.config import make_config
    from gantk.training.data import ImageStoreDataset
    from gantk.training.trainer import Trainer

    trainer = Trainer(make_config(tiny_config, {"device": "cuda"}), tmp_path / "run",
                      log=lambda m: None)
    assert trainer.amp_dtype is not None and trainer.channels_last
    batch = ImageStoreDataset(tiny_config["data"]).__getitems__(list(range(16)))[0]
    batch = batch.pin_memory()
    for _ in range(2):  # warm-up: cuDNN autotuning, allocator, lazy init
        trainer.train_step([batch])
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            stats = trainer.train_step([batch])
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert all(torch.isfinite(v).item() for v in stats.values())
