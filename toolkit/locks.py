"""One writer at a time: an advisory lock file inside a run directory or an ImageStore.

The lock is `fcntl.flock` on `DIR/.gantk.lock`, which also records the holder's pid, host
and start time. The kernel drops a flock when its process dies (kill -9 included), so a
lock file left by a dead process is stale by construction and simply taken over; the
recorded pid and host only serve the refusal message. The file itself is never removed:
unlinking a lock file that another process has just opened would let two writers in.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from gantk.errors import GantkError

LOCK_NAME = ".gantk.lock"
_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS}
# Locks this process holds: resolved directory -> [fd, depth, pid]. Re-entrant within a
# process (ingest checks DEST under the lock its writer then takes again); a forked child
# does not inherit the right to re-enter.
_HELD: dict[str, list[int]] = {}


class LockedError(GantkError):
    """Another live process writes to the same run directory or store."""


class DirLock:
    """An exclusive, non-blocking lock on directory `path` (created if missing)."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        self.path = Path(path)
        self.what = what
        self.file = self.path / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> DirLock:
        if self.path.exists() and not self.path.is_dir():
            raise GantkError(f"{self.path} is a file, not a directory; choose a new or "
                             f"existing directory for the {self.what}")
        self.path.mkdir(parents=True, exist_ok=True)
        self._key = str(self.path.resolve())
        held = _HELD.get(self._key)
        if held is not None and held[2] == os.getpid():
            held[1] += 1
            self._fd = held[0]
            return self
        fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _NO_FLOCK:
                pass  # a filesystem without flock (some network mounts): go on unguarded
            elif exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                os.close(fd)
                raise
            else:
                os.close(fd)
                raise LockedError(f"{self.path} is in use by another {self.what} writer "
                                  f"({holder_text(self.file)}); wait for it to finish or "
                                  "stop it, then run the command again") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd
        _HELD[self._key] = [fd, 1, os.getpid()]
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        held = _HELD.get(self._key)
        self._fd = None
        if held is None or held[2] != os.getpid():
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self._key]
            with contextlib.suppress(OSError):
                os.ftruncate(held[0], 0)
            os.close(held[0])  # closing drops the flock

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def holder_text(lock_file: Path) -> str:
    """`pid N on host H since T` as recorded in `lock_file` (best effort)."""
    try:
        holder = json.loads(lock_file.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    if "pid" not in holder:
        return "holder unknown"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0)))
    return f"pid {holder['pid']} on host {holder.get('host', '?')} since {since}"


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], what: str) -> Iterator[DirLock]:
    """Hold the lock of directory `path` for the block."""
    with DirLock(path, what) as lock:
        yield lock
