"""What a run exposes to other people (issue 15): torchrun's rendezvous store on loopback
for single-node runs, and only allowed launchers from the Dagster run config."""

from __future__ import annotations

import sys
from pathlib import Path

from gantk.training.launch import loopback_store, torchrun_command


def _listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def test_rendezvous_store_listens_on_loopback_only():
    store, port = loopback_store()
    try:
        assert _listening_addresses(port) == ["0100007F"]  # 127.0.0.1, nothing else
    finally:
        del store
    command = torchrun_command(2, ["run", "dcgan"], f"127.0.0.1:{port}")
    assert f"--rdzv-endpoint=127.0.0.1:{port}" in command and "--standalone" not in command


def test_dagster_launcher_must_be_allowed():
    """The UI's `launcher` field runs a program: only the training_policy's are accepted."""
    from gantk.pipelines.resources import TrainingPolicy
    from gantk.pipelines.train import TrainConfig, refusal, train_command
    from gantk.training.request import RunRequest

    request = RunRequest("dcgan")
    policy = TrainingPolicy()
    problem = refusal(request, ["bash", "-c", "touch /tmp/owned"], policy)
    assert problem and "'bash'" in problem and "allowed_launchers" in problem
    assert refusal(request, ["torchrun", "--nproc-per-node=2"], policy) is None
    assert refusal(request, [], policy) is None
    assert train_command(TrainConfig(), request)[0] == sys.executable
    srun = TrainingPolicy(allowed_launchers=["/usr/bin/srun"])
    assert refusal(request, ["/usr/bin/srun"], srun) is None
    assert refusal(request, ["torchrun"], srun)
