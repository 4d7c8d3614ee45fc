"""`gantk run --nproc N`: start the same command in N processes under torchrun.

Kept free of torch imports: the launching process only waits for torchrun.
"""

from __future__ import annotations

import os
import sys

from gantk.errors import ConfigError


def torchrun_command(nproc: int, gantk_args: list[str]) -> list[str]:
    """`python -m torch.distributed.run --standalone --nproc-per-node N -m gantk ARGS`."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc-per-node={nproc}", "-m", "gantk", *gantk_args]


def launch(nproc: int, gantk_args: list[str]) -> int:
    """Run `gantk ARGS` in `nproc` processes on this machine under torchrun; its exit code.
    CPU threads are split between the processes unless OMP_NUM_THREADS is set."""
    import subprocess

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("--nproc given inside a torchrun job; drop --nproc (torchrun "
                          "already started the processes)")
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    return subprocess.call(torchrun_command(nproc, gantk_args), env=env)
