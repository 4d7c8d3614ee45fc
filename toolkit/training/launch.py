"""`gantk run --nproc N`: start the same command in N processes under torchrun.

torchrun's `--standalone` rendezvous store listens on every interface for the whole run
(torch's TCPStore binds the wildcard address whatever host it is given). For a
single-node run this process hosts that store itself on a socket bound to 127.0.0.1 and
points torchrun at it (torchrun falls back to a client when the port is taken), and the
workers' gloo/NCCL sockets are kept on the loopback interface too. That costs this
process the torch.distributed import; it then only waits for torchrun.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid

from gantk.errors import ConfigError

# Loopback for the collectives' own sockets, unless the user chose an interface.
LOOPBACK_ENV = {"GLOO_SOCKET_IFNAME": "lo", "NCCL_SOCKET_IFNAME": "lo"}


def torchrun_command(nproc: int, gantk_args: list[str], endpoint: str | None = None) -> list[str]:
    """`python -m torch.distributed.run --nproc-per-node N -m gantk ARGS`: standalone, or
    joined to the rendezvous store at `endpoint` (host:port) when given."""
    rendezvous = (["--standalone"] if endpoint is None else
                  ["--nnodes=1", "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}",
                   f"--rdzv-id={uuid.uuid4()}"])
    return [sys.executable, "-m", "torch.distributed.run", *rendezvous,
            f"--nproc-per-node={nproc}", "-m", "gantk", *gantk_args]


def loopback_store() -> tuple[object, int]:
    """A TCPStore server on 127.0.0.1 (kept alive by the caller) and its port."""
    import socket
    from datetime import timedelta

    import torch.distributed as dist

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    store = dist.TCPStore("127.0.0.1", port, is_master=True, wait_for_workers=False,
                          multi_tenant=True, master_listen_fd=sock.fileno(),
                          timeout=timedelta(minutes=10))
    return (store, sock), port


def launch(nproc: int, gantk_args: list[str]) -> int:
    """Run `gantk ARGS` in `nproc` processes on this machine under torchrun; its exit code.
    CPU threads are split between the processes unless OMP_NUM_THREADS is set."""
    import subprocess

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("--nproc given inside a torchrun job; drop --nproc (torchrun "
                          "already started the processes)")
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    for key, value in LOOPBACK_ENV.items():
        env.setdefault(key, value)
    store, port = loopback_store()  # held until torchrun is done
    proc = subprocess.Popen(torchrun_command(nproc, gantk_args, f"127.0.0.1:{port}"), env=env)
    while True:
        try:
            code = proc.wait()
            del store
            return code
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: let the workers stop and checkpoint
            proc.send_signal(signal.SIGTERM)
