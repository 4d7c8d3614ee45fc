"""The paper's §6 figures as visualization plugins, on a tiny run trained here."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gantk.errors import ConfigError
from gantk.evaluation.runner import run_eval
from gantk.training.config import make_config
from gantk.training.runs import load_run
from gantk.training.sampling import generate
from gantk.training.trainer import Trainer
from tests.conftest import write_store


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("viz")
    store = write_store(root / "store", count=96)
    config = make_config({"architecture": "dcgan", "data": str(store), "batch_size": 16,
                          "steps": 8, "model": {"ngf": 8, "ndf": 8}, "log_every": 2,
                          "checkpoint_every": 8, "sample_every": 8, "seed": 3,
                          "device": "cpu"})
    Trainer(config, root / "run", log=lambda *_: None).fit()
    return root / "run"


def viz(name, run_dir, out, seed=0, **options):
    return run_eval(name, run_dir, options=options, out_dir=out, device="cpu", seed=seed,
                    kind="visualization")


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_reference_batch_stats_match_the_batch_itself(run_dir):
    from gantk.plugins.visualizations.lib.common import numbered_z, reference_z, render

    run = load_run(run_dir)
    ref = reference_z(run, 5)
    grid = generate(run.generator, ref)
    assert torch.allclose(generate(run.generator, ref, reference=ref), grid, atol=1e-5)
    # sample 7 alone is the 7th image of the grid batch, whatever its own batch is
    assert torch.allclose(render(run, numbered_z(run, 5, [7, 2]), 5)[0], grid[7], atol=1e-5)
    assert torch.equal(numbered_z(run, 5, [7]), numbered_z(run, 5, range(9))[7:8])
    assert not torch.equal(numbered_z(run, 5, [7]), numbered_z(run, 6, [7]))


def test_samples_grid_is_numbered_and_seeded(run_dir, tmp_path):
    viz("samples", run_dir, tmp_path / "a", seed=1, n=16)
    viz("samples", run_dir, tmp_path / "b", seed=1, n=16)
    viz("samples", run_dir, tmp_path / "c", seed=2, n=16)
    a = png(tmp_path / "a" / "samples.png")
    assert a.shape == (4 * 66 + 2, 4 * 66 + 2, 3)  # 4x4 of 32px at scale 2, 2px borders
    assert np.array_equal(a, png(tmp_path / "b" / "samples.png"))
    assert not np.array_equal(a, png(tmp_path / "c" / "samples.png"))
    record = json.loads((tmp_path / "a" / "samples.json").read_text())
    assert record["seed"] == 1 and record["n"] == 16 and record["step"] == 8


def test_latent_walk_rows_join_numbered_samples(run_dir, tmp_path):
    from gantk.plugins.visualizations.latent_walk import interpolate

    result = viz("latent-walk", run_dir, tmp_path / "lerp", points="4,9,2", steps=5)
    viz("latent-walk", run_dir, tmp_path / "slerp", points=[4, 9, 2], steps=5, slerp=True)
    lerp, slerp = png(tmp_path / "lerp" / "latent_walk.png"), png(tmp_path / "slerp" /
                                                                  "latent_walk.png")
    assert lerp.shape == (2 * 66 + 2, 5 * 66 + 2, 3) == slerp.shape
    assert not np.array_equal(lerp, slerp)
    assert np.array_equal(lerp[:, :66], slerp[:, :66])  # both legs start on samples 4 and 9
    frames = json.loads((tmp_path / "lerp" / "latent_walk.json").read_text())["frame_change"]
    assert np.array(frames).shape == (2, 4) and result.metrics["max_frame_change"] > 0
    a, b = torch.rand(100) * 2 - 1, torch.rand(100) * 2 - 1
    arc = interpolate(a, b, 7, slerp=True)
    assert torch.allclose(arc[0], a, atol=1e-5) and torch.allclose(arc[-1], b, atol=1e-5)
    assert arc.norm(dim=1).min() > interpolate(a, b, 7, slerp=False).norm(dim=1).min()


@pytest.mark.slow
def test_vector_arithmetic_cli_saves_exemplars_and_replays(run_dir, tmp_path):
    out, again = tmp_path / "va", tmp_path / "again"
    cmd = [sys.executable, "-m", "gantk", "viz", "vector-arithmetic", "--run", str(run_dir),
           "--device", "cpu", "--seed", "4"]
    first = subprocess.run([*cmd, "--out", str(out), "--a", "3,17,42", "--b", "5,8,9",
                            "--c=1,2,7", "--noise", "0.3"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    saved = json.loads((out / "exemplars.json").read_text())
    assert (saved["a"], saved["c"], saved["seed"], saved["noise"]) == ([3, 17, 42], [1, 2, 7],
                                                                       4, 0.3)
    assert np.array(saved["z"]["b"]).shape == (3, 100)
    assert np.abs(saved["z"]["neighbours"]).max() <= 0.3
    replay = subprocess.run([*cmd[:-2], "--out", str(again), "--exemplars",
                             str(out / "exemplars.json")], capture_output=True, text=True)
    assert replay.returncode == 0, replay.stderr
    picture = png(out / "vector_arithmetic.png")
    assert np.array_equal(picture, png(again / "vector_arithmetic.png"))
    missing = subprocess.run([*cmd, "--out", str(again), "--a", "1,2,3"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "missing: b, c" in missing.stderr


def test_guided_backprop_trained_differs_from_random(run_dir, tmp_path):
    result = viz("guided-backprop", run_dir, tmp_path / "gb", images=4, features=3)
    viz("guided-backprop", run_dir, tmp_path / "gb2", images=4, features=3)
    maps = np.load(tmp_path / "gb" / "guided_backprop_maps.npz")
    trained, random = maps["trained"], maps["random"]
    assert trained.shape == random.shape == (3, 4, 1, 32, 32)
    assert np.abs(trained).sum() > 0 and np.abs(random).sum() > 0
    unit = [m / np.abs(m).max(axis=(2, 3, 4), keepdims=True) for m in (trained, random)]
    assert np.abs(unit[0] - unit[1]).mean() > 0.05
    assert result.metrics["trained_random_cosine"] < 0.9
    again = np.load(tmp_path / "gb2" / "guided_backprop_maps.npz")
    assert np.array_equal(trained, again["trained"]) and np.array_equal(random, again["random"])
    assert png(tmp_path / "gb" / "guided_backprop.png").shape[0] == 14 + 4 * 66 + 2


def test_filter_ablation_changes_the_boxed_region_most(run_dir, tmp_path):
    from gantk.plugins.visualizations.filter_ablation import ablated
    from gantk.plugins.visualizations.lib.common import numbered_z, reference_z

    boxes = {"seed": 2, "boxes": {str(i): [[2, 4, 18, 20]] if i < 8 else [] for i in range(16)}}
    (tmp_path / "boxes.json").write_text(json.dumps(boxes))
    result = viz("filter-ablation", run_dir, tmp_path / "fa", boxes=str(tmp_path / "boxes.json"))
    m = result.metrics
    assert 0 < m["filters_dropped"] < m["filters"] == 16  # layer -2 of ngf=8 at 32x32
    assert m["activation_change_inside"] > m["activation_change_outside"]
    record = json.loads((tmp_path / "fa" / "filter_ablation.json").read_text())
    assert record["show"] == list(range(8)) and record["seed"] == 2
    assert all(record["weights"][k] > 0 for k in record["dropped"])
    run = load_run(run_dir)
    gone = ablated(run.generator, -2, record["dropped"], reference_z(run, 2))
    hidden = gone.hidden(numbered_z(run, 2, [0, 9]))[-2]
    assert hidden[:, record["dropped"]].abs().max() == 0
    assert png(tmp_path / "fa" / "filter_ablation.png").shape[1] == 8 * 66 + 2
    (tmp_path / "bad.json").write_text(json.dumps({"boxes": {"1": [[0, 0, 40, 9]]}}))
    with pytest.raises(ConfigError, match="not \\[x0, y0, x1, y1\\] inside the 32x32"):
        viz("filter-ablation", run_dir, tmp_path / "bad", boxes=str(tmp_path / "bad.json"))


def test_training_curves_plot_the_logged_metrics(run_dir, tmp_path):
    result = viz("training-curves", run_dir, tmp_path / "tc", smooth=2)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert result.metrics["steps"] == records[-1]["step"] == 8
    assert result.metrics["final_d_x"] == pytest.approx(records[-1]["d_x"])
    assert png(tmp_path / "tc" / "training_curves.png").ndim == 3
    with pytest.raises(ConfigError, match="no logged metrics"):
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "config.json").write_text("{}")
        viz("training-curves", tmp_path / "empty", tmp_path / "tc2")


def test_unknown_option_and_extra_option_parsing(run_dir, tmp_path):
    from gantk.cli.commands.evaluate import parse_extra_options

    assert parse_extra_options(["--a", "3,17,42", "--slerp", "--noise-scale=0.5",
                                "--layer", "-2"]) == {"a": "3,17,42", "slerp": True,
                                                      "noise_scale": 0.5, "layer": -2}
    with pytest.raises(ConfigError, match="unexpected argument"):
        parse_extra_options(["stray"])
    with pytest.raises(ConfigError, match="unknown option\\(s\\) stesp"):
        viz("latent-walk", run_dir, tmp_path / "x", stesp=3)
