"""The demo job launched as a Dagster user launches it: `dg launch --job demo --partition`
in a real subprocess, on a real instance (DAGSTER_HOME), with no `steps` in run config.

The demo's size is the job's `gantk/steps` tag, which every launcher applies (a partitioned
run config was applied by the UI's partition dialog only). The test waits until the training
has written its resolved config.json, reads its steps, then stops the launch with SIGINT
(the trainer checkpoints and exits) instead of training 300 steps on a shared CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from dagster._core.instance.ref import InstanceRef

from tests.process_group import reset_sigint, stop_group

REPO = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).with_name("dg")
PARTITION = "dcgan|fashion-mnist"
WAIT_S = 240


def _wait_for(pattern: str, root: Path, process: subprocess.Popen) -> Path:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and process.poll() is None:
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError(f"no {pattern} under {root} (dg launch exit: {process.poll()})")


@pytest.mark.slow
@pytest.mark.skipif(not DG.exists(), reason="dg (dagster-dg-cli, the dev extra) not installed")
def test_dg_launch_of_the_demo_trains_300_steps(tmp_path, isolated_home):
    from gantk.pipelines.definitions import build_graph, resources

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    stored = materialize(build_graph().select("image_store"), partition_key="fashion-mnist",
                         instance=instance, resources=resources(str(isolated_home)),
                         run_config={"ops": {"image_store": {"config": {"limit": 64}}}})
    assert stored.success

    tiny = {"device": "cpu", "batch_size": 16, "overrides": ["model.ngf=8", "model.ndf=8"]}
    command = [str(DG), "launch", "--job", "demo", "--partition", PARTITION,
               "--config-json", json.dumps({"ops": {"trained_model": {"config": tiny}}})]
    env = {**os.environ, "DAGSTER_HOME": str(home), "GANTK_HOME": str(isolated_home)}
    with open(tmp_path / "dg-launch.log", "wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=reset_sigint)
        try:
            config = _wait_for("runs/fashion-mnist/dcgan/*/config.json", isolated_home, process)
            steps = json.loads(config.read_text())["steps"]
        finally:
            stop_group(process, timeout=90)
    assert steps == 300, (tmp_path / "dg-launch.log").read_text()[-3000:]
    (run,) = instance.get_runs()[:1]
    assert run.job_name == "demo" and run.tags["gantk/steps"] == "300"
    assert run.tags["dagster/partition"] == PARTITION
