"""A real third-party plugin package round-trips through pip: installed into a throwaway
venv layered over this environment (gantk.testing.PluginEnv, offline), it is listed,
trains, evaluates, ingests, adds a command, and is gone again after uninstalling. A broken
package is reported without breaking gantk.

Tests marked `hooks(...)` are the ones that prove a hook works for third-party code;
tests/test_hook_coverage.py fails when a hook spec has none."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from gantk.testing import PluginEnv

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gantk-plugin-example"
DIST = "gantk-plugin-example"
TINY = ["--batch-size", "8", "--device", "cpu", "--set", "model.ngf=8", "--set", "model.ndf=8"]


@pytest.fixture(scope="module")
def example_env(tmp_path_factory):
    env = PluginEnv(tmp_path_factory.mktemp("example") / "venv")
    env.install(EXAMPLE)
    return env


def _plugins(env: PluginEnv, **extra_env) -> dict:
    proc = env.gantk("plugins", "--json", env=extra_env or None)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _third_party(doc: dict) -> dict[str, dict]:
    return {p["name"]: p for p in doc["plugins"] if not p["builtin"]}


def test_listed_with_package_and_version(example_env):
    doc = _plugins(example_env)
    example = _third_party(doc)["example"]
    assert (example["package"], example["version"], example["error"]) == (DIST, "0.1.0", None)
    assert example["module"] == "gantk_plugin_example.plugin"
    assert example["registered"] == {
        "architecture": ["example-upsample"], "loss": ["example-smoothed"],
        "eval": ["example-sample-stats"], "dataset": ["example-npy"], "preset": ["example"],
        "tracker": ["example-csv"]}
    assert "register_commands" in example["hooks"]
    assert "example-upsample" in doc["registered"]["architecture"]
    with pytest.raises(metadata.PackageNotFoundError):  # the test environment is untouched
        metadata.distribution(DIST)


def test_loading_plugins_stays_light(example_env):
    """Listing plugins (and so `gantk --help`) imports neither torch nor numpy."""
    code = ("import sys; from gantk.contract.registry import get_registry; r = get_registry(); "
            "assert 'example-upsample' in r.names('architecture'); "
            "heavy = [m for m in ('torch', 'numpy', 'dagster') if m in sys.modules]; "
            "assert not heavy, heavy")
    proc = example_env.run([str(example_env.python), "-c", code], check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_example_package_own_tests_use_the_contract_checker(example_env):
    """The example's tests (gantk.testing.check_*) pass against the installed package."""
    tests = example_env.root / "src" / EXAMPLE.name / "tests"  # the copy pip built from
    proc = example_env.run([str(example_env.python), "-m", "pytest", "-q", "-p",
                            "no:cacheprovider", "--rootdir", str(tests.parent), str(tests)],
                           check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "6 passed" in proc.stdout


def test_env_filter_hides_it(example_env):
    assert "example" in _third_party(_plugins(example_env, GANTK_PLUGINS="example"))
    assert "example" not in _third_party(_plugins(example_env, GANTK_PLUGINS="other"))


@pytest.mark.hooks("register_architectures", "register_losses", "register_presets",
                   "register_evals", "register_commands", "register_trackers")
@pytest.mark.slow
def test_trains_evaluates_and_adds_a_command(example_env, small_store, tmp_path):
    run = tmp_path / "run"
    proc = example_env.gantk("run", "example", "--data", str(small_store), "--out", str(run),
                             "--steps", "2", "--set", "log_every=1", "--set", "checkpoint_every=1",
                             "--log", "example-csv", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "training example-upsample" in proc.stderr + proc.stdout
    assert "loss example-smoothed" in proc.stderr + proc.stdout
    cfg = json.loads((run / "config.json").read_text())
    assert (cfg["architecture"], cfg["loss"], cfg["preset"]) == (
        "example-upsample", "example-smoothed", "example")
    assert cfg["trackers"] == ["example-csv"]
    rows = (run / "example-metrics.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["step", "loss_d", "loss_g"]
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    # resumed from step 1 (the step-2 checkpoint lost): the tracker drops row 2 first
    (run / "checkpoints" / "step-00000002.safetensors").unlink()
    proc = example_env.gantk("run", "example", "--resume", "--out", str(run), "--steps", "3")
    assert proc.returncode == 0, proc.stderr
    rows = (run / "example-metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]

    proc = example_env.gantk("eval", "example-sample-stats", "--run", str(run), "--device",
                             "cpu", "-o", "n=16")
    assert proc.returncode == 0, proc.stderr
    record = json.loads((run / "evals" / "example-sample-stats" / "result.json").read_text())
    assert record["options"] == {"n": 16} and 0 < record["metrics"]["pixel_std"] < 1
    assert record["baseline"]["passed"] is True
    assert Path(record["figures"]["samples"]).is_file()

    proc = example_env.gantk("example-metrics", str(run))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["step"] == 3
    proc = example_env.gantk("example-metrics", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")


@pytest.mark.hooks("register_datasets")
def test_ingests_with_its_dataset_source(example_env, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(12, 20, 20), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    dest = tmp_path / "store"
    proc = example_env.gantk("ingest", "example-npy", str(tmp_path / "images.npy"), str(dest))
    assert proc.returncode == 0, proc.stderr
    assert "12 ingested" in proc.stdout
    info = json.loads(example_env.gantk("info", str(dest), "--json").stdout)
    assert (info["count"], info["resolution"], info["source"]) == (12, 32, "example-npy")


BROKEN_MODULES = {
    # a duplicate of a built-in name (left out) beside a fine item (kept)
    "dup": """
from gantk import hookimpl
from gantk.contract.specs import LossSpec
from gantk.plugins.losses import hinge

@hookimpl
def register_losses(register):
    register(LossSpec("nonsaturating", hinge.d_loss, hinge.g_loss))
    register(LossSpec("broken-fine", hinge.d_loss, hinge.g_loss))
""",
    # the wrong spec type for its hook
    "wrongtype": """
from gantk import hookimpl
from gantk.contract.specs import PresetSpec

@hookimpl
def register_architectures(register):
    register(PresetSpec("broken-arch", {}))
""",
    # a command named like a core command (refused) beside its own (kept)
    "clash": """
from gantk import hookimpl

def run():
    \"\"\"Hijacked.\"\"\"
    print("HIJACKED")

def hello():
    \"\"\"Say hello from the broken package.\"\"\"
    print("hello")

@hookimpl
def register_commands(app):
    app.command("run")(run)
    app.command("broken-hello")(hello)
""",
    "exits": "import sys\nsys.exit('this plugin exits at import')\n",
    # fails to import, so the preset it would offer is unknown
    "failing": "import gantk_missing_dependency  # noqa\n",
}
BROKEN_EPS = {"dup": "dup", "wrongtype": "wrongtype", "clash": "clash", "exits": "exits",
              "broken": "failing"}


def _write_broken_package(root: Path) -> Path:
    pkg = root / "gantk_broken_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for module, source in BROKEN_MODULES.items():
        (pkg / f"{module}.py").write_text(source)
    eps = "".join(f'{name} = "gantk_broken_plugin.{module}"\n'
                  for name, module in BROKEN_EPS.items())
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=69"]\n'
        'build-backend = "setuptools.build_meta"\n'
        '[project]\nname = "gantk-broken-plugin"\nversion = "2.0.0"\n'
        f'[project.entry-points.gantk]\n{eps}'
        '[tool.setuptools]\npackages = ["gantk_broken_plugin"]\n')
    return root


@pytest.mark.slow
def test_broken_package_is_contained_and_uninstall_removes_example(small_store, tmp_path):
    env = PluginEnv(tmp_path / "venv")
    env.install(EXAMPLE)
    env.install(_write_broken_package(tmp_path / "broken-src"))
    proc = env.gantk("plugins", "--json")
    assert proc.returncode == 2, proc.stderr  # something failed
    doc = json.loads(proc.stdout)
    failures = {f["name"]: f for f in doc["failures"]}
    assert set(failures) == set(BROKEN_EPS)
    assert all((f["package"], f["version"]) == ("gantk-broken-plugin", "2.0.0")
               for f in failures.values())
    assert "'nonsaturating' is registered twice" in failures["dup"]["problems"][0]
    assert "registered a PresetSpec as a architecture" in failures["wrongtype"]["problems"][0]
    assert "command 'run' clashes with the core" in failures["clash"]["problems"][0]
    assert "sys.exit('this plugin exits at import')" in failures["exits"]["error"]
    assert "gantk_missing_dependency" in failures["broken"]["error"]
    assert "broken-fine" in doc["registered"]["loss"]  # the rest of a plugin stays
    assert doc["commands"]["broken-hello"] == "Say hello from the broken package."
    assert "example" in _third_party(doc)
    listing = env.gantk("plugins")
    assert listing.returncode == 2
    failed_section = listing.stdout.split("FAILED:", 1)[1]
    assert all(f"{name} (gantk-broken-plugin 2.0.0" in failed_section for name in BROKEN_EPS)

    # every command still works; the core `run` is not replaced
    assert "broken-hello" in env.gantk("--help").stdout
    assert env.gantk("broken-hello").stdout.strip() == "hello"
    proc = env.gantk("run", "dcgan", "--data", str(small_store), "--out", str(tmp_path / "r"),
                     "--steps", "1", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "HIJACKED" not in proc.stdout
    # a name that a failed plugin would have offered: say which plugin failed and why
    proc = env.gantk("run", "broken-preset", "--steps", "1")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "unknown preset 'broken-preset'" in proc.stderr
    assert "broken (gantk-broken-plugin)" in proc.stderr and "gantk_missing_dependency" in (
        proc.stderr)
    # turning the broken plugins off (GANTK_PLUGINS=-NAME) leaves a clean listing
    off = ",".join(f"-{name}" for name in BROKEN_EPS)
    assert env.gantk("plugins", env={"GANTK_PLUGINS": off}).returncode == 0

    env.uninstall("gantk-broken-plugin")
    env.uninstall(DIST)
    doc = _plugins(env)
    assert "example" not in _third_party(doc)
    assert "example-upsample" not in doc["registered"]["architecture"]
    assert "example-metrics" not in env.gantk("--help").stdout
    assert env.gantk("run", "example", "--steps", "1").returncode == 2
