"""run_eval: the one path from a registered eval to result.json."""

from __future__ import annotations

import json

import pytest

from gantk.contract.registry import PluginInfo, get_registry
from gantk.contract.specs import EvalResult, EvalSpec
from gantk.errors import ConfigError
from gantk.evaluation.runner import run_eval
from gantk.training.config import make_config
from gantk.training.sampling import generate
from gantk.training.trainer import Trainer


def _mean_pixel(ctx):
    run = ctx.load()
    images = generate(run.generator, run.sample_z(8, seed=ctx.seed))
    return EvalResult(metrics={"mean": float(images.mean())}, summary="mean pixel")


@pytest.fixture
def registered():
    owner = PluginInfo("t", "tests", "0", "tests.test_evaluate", False)
    get_registry().add("eval", EvalSpec("mean-pixel", _mean_pixel, baseline_metric="mean",
                                        baseline=-2.0), owner)


def test_run_eval_writes_result(registered, tiny_config, tmp_path):
    Trainer(make_config(tiny_config, {"steps": 2}), tmp_path / "run", log=print).fit()
    result = run_eval("mean-pixel", tmp_path / "run", device="cpu", seed=1)
    record = json.loads((tmp_path / "run" / "evals" / "mean-pixel" / "result.json").read_text())
    assert record["metrics"]["mean"] == pytest.approx(result.metrics["mean"])
    assert record["baseline"]["passed"] is True and record["seed"] == 1
    with pytest.raises(ConfigError, match="not a visualization"):
        run_eval("mean-pixel", tmp_path / "run", kind="visualization")


def test_missing_run_is_a_clear_error(registered, tmp_path):
    with pytest.raises(ConfigError, match="needs a trained run"):
        run_eval("mean-pixel", None)
    with pytest.raises(ConfigError, match="not a gantk run"):
        run_eval("mean-pixel", tmp_path)


def test_required_options_are_checked_before_running(tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="needs --boxes VALUE"):
        run_eval("filter-ablation", tmp_path / "no-run-needed", kind="visualization")
