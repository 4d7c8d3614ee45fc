"""Typed plugin options and capabilities: bad values refused in one line before any
work (CLI, run_eval, ingest), options listed by `gantk plugins NAME`, a missing capability
refused before an eval starts, and option models kept off the start-up path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import BaseModel, Field

from gantk.contract.options import describe_options, validate_options
from gantk.contract.registry import PluginInfo, get_registry
from gantk.contract.specs import DatasetSpec, Record
from gantk.errors import ConfigError
from gantk.evaluation.runner import run_eval
from gantk.training.config import make_config
from gantk.training.trainer import Trainer


def _gantk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gantk", *args], capture_output=True,
                          text=True, timeout=300)


def test_bad_model_option_is_one_line_before_any_work(small_store, tmp_path):
    out = tmp_path / "run"
    proc = _gantk("run", "dcgan", "--data", str(small_store), "--out", str(out), "--steps",
                  "1", "--set", "model.ngf=abc")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: architecture 'dcgan': ngf='abc': input should be a valid "
                           "integer")
    assert "known options: ngf: int | None = None, ndf: int | None = None, kernel: int = 5" in line
    assert not out.exists()
    proc = _gantk("run", "mlp-gan", "--out", str(out), "--set", "model.pieces=0")
    assert proc.returncode == 2 and "pieces=0: input should be greater than or equal to 1" in (
        proc.stderr)


def test_plugins_name_prints_options_capabilities_and_supported_evals():
    proc = _gantk("plugins", "dcgan")
    assert proc.returncode == 0, proc.stderr
    assert "capabilities: features, conv-features, hidden, layers" in proc.stdout
    assert "kernel (int, default 5): odd kernel size of every (transposed) conv" in proc.stdout
    assert "filter-ablation" in proc.stdout.split("supports:")[1].splitlines()[0]
    doc = json.loads(_gantk("plugins", "mlp-gan", "--json").stdout)
    assert not {"filter-ablation", "guided-backprop"} & set(doc["architecture"]["supports"])
    assert "svm-probe" in doc["architecture"]["supports"]
    assert {o["name"] for o in doc["architecture"]["options"]} == {"ngf", "ndf", "pieces",
                                                                   "dropout"}
    verbose = _gantk("plugins", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert "      options:" in verbose.stdout and "        n (int, default 64)" in verbose.stdout
    assert "command: ingest - " in verbose.stdout  # commands with their descriptions
    proc = _gantk("plugins", "no-such-thing")
    assert proc.returncode == 2 and "nothing is registered as 'no-such-thing'" in proc.stderr


def test_option_models_stay_off_the_start_up_path():
    code = ("import sys; from gantk.contract.registry import get_registry; get_registry(); "
            "print(sorted(m for m in ('pydantic', 'torch') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "[]", proc.stderr


@pytest.fixture
def mlp_run(small_store, tmp_path):
    """A real one-step mlp-gan run: an architecture without hidden/layers."""
    config = make_config({"architecture": "mlp-gan", "data": str(small_store),
                          "batch_size": 8, "steps": 1, "device": "cpu", "sample_every": 100,
                          "checkpoint_every": 1, "model": {"ngf": 8, "ndf": 8}})
    Trainer(config, tmp_path / "mlp", log=lambda m: None).fit()
    return tmp_path / "mlp"


def test_eval_options_and_capabilities_are_checked_before_work(mlp_run, tmp_path):
    with pytest.raises(ConfigError) as err:
        run_eval("filter-ablation", mlp_run, options={"boxes": str(tmp_path / "b.json")},
                 device="cpu")
    message = str(err.value)
    assert message.startswith("visualization 'filter-ablation' needs an architecture offering "
                              "hidden, layers; 'mlp-gan' (the run's) offers features; "
                              "architectures that do: dcgan, ")
    with pytest.raises(ConfigError, match="visualization 'samples': n=0: input should be "
                                          "greater than or equal to 1; known options: n: int "
                                          "= 64, nrow: int | None = None, scale: int = 2"):
        run_eval("samples", mlp_run, options={"n": 0}, device="cpu")
    with pytest.raises(ConfigError, match="latent-walk.: points=.1,x. .item 1.: input should "
                                          "be a valid integer"):
        run_eval("latent-walk", mlp_run, options={"points": "1,x"}, device="cpu")
    assert not (mlp_run / "evals").exists()  # nothing started
    result = run_eval("samples", mlp_run, options={"n": "4"}, device="cpu")  # "4" converts
    assert result.metrics["n"] == 4.0


class _Stripes(BaseModel):
    count: int = Field(8, ge=1, le=64, description="how many stripes")


def _open_stripes(path, options):
    import numpy as np

    for i in range(options.get("count", 8)):
        image = np.zeros((8, 8), np.uint8)
        image[:, i % 8] = 255
        yield Record(f"stripe/{i}", image)


def test_dataset_options_are_validated_by_ingest(tmp_path):
    from gantk.ingest.engine import ingest

    spec = DatasetSpec("option-stripes", _open_stripes, default_resolution=8, channels=1,
                       options=_Stripes)
    get_registry().add("dataset", spec, PluginInfo("t", "gantk-tests", "0", __name__, False))
    with pytest.raises(ConfigError, match="dataset 'option-stripes': count=500: input should "
                                          "be less than or equal to 64; known options: "
                                          "count: int = 8"):
        ingest("option-stripes", tmp_path, tmp_path / "store", options={"count": 500})
    assert not (tmp_path / "store").exists()
    assert ingest("option-stripes", tmp_path, tmp_path / "store", options={"count": "3"},
                  workers=1).ingested == 3
    assert [o.line() for o in describe_options(spec)] == [
        "count (int, default 8): how many stripes"]
    assert validate_options(spec, "dataset", {"count": 2}) == {"count": 2}


@pytest.mark.parametrize(("source", "options", "message"), [
    ("fashion-mnist", {"spilt": "test"}, "unknown option(s) spilt; known options: split: "
                                         "Literal['train', 'test', 'all'] = 'train'"),
    ("fashion-mnist", {"split": "val"}, "split='val': input should be 'train', 'test' or 'all'"),
    ("cifar10", {"split": "valid"}, "split='valid': input should be 'train', 'test' or 'all'"),
    ("faces", {"scale_factor": 1}, "scale_factor=1: input should be greater than 1"),
    ("lsun", {"split": "train"}, "unknown option(s) split; known options: none"),
])
def test_builtin_sources_refuse_bad_options_before_reading(source, options, message,
                                                           tmp_path):
    """Every built-in source declares its options: a misspelt `-o spilt=test` is one line,
    not a silent ingest of the default split."""
    from gantk.ingest.engine import ingest

    with pytest.raises(ConfigError) as refused:
        ingest(source, tmp_path / "nowhere", tmp_path / "store", options=options)
    assert message in str(refused.value) and f"dataset {source!r}: " in str(refused.value)
    assert not (tmp_path / "store").exists()
    assert all(describe_options(get_registry().dataset(name))
               for name in ("fashion-mnist", "cifar10", "svhn", "imagenet", "folder", "faces"))
