"""Starting and stopping a real process group as a user's terminal would (Ctrl-C, then a
kill if it will not stop): Dagster's `dagster dev` and `dg launch` in the UI tests."""

from __future__ import annotations

import os
import signal
import subprocess


def reset_sigint() -> None:
    """`preexec_fn`: a background process inherits SIGINT ignored; these must stop on it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGINT to the group (a clean shutdown), SIGKILL if it is still there after `timeout`."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
