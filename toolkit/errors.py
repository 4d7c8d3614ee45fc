"""User-facing errors: one clear line naming the problem and the fix, exit code 2."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class GantkError(Exception):
    """A problem with the user's input or environment (not a bug): shown as one line."""

    exit_code = 2


class ConfigError(GantkError):
    """An invalid run configuration, caught before any work starts."""


class RegistryError(GantkError):
    """An unknown or duplicate plugin name."""


class StoreError(GantkError):
    """A path that is not a usable ImageStore."""


class TrainingError(GantkError):
    """Training stopped for a reason the user must act on (e.g. a non-finite loss)."""

    exit_code = 3


class ContractError(GantkError):
    """A plugin that breaks its contract (a model's shapes, a loss's values): one line
    naming the plugin and what it got wrong."""


class DiskFullError(GantkError):
    """A write failed for lack of space (or over the file size limit); what was written
    before stays readable, so the same command resumes once there is room."""

    exit_code = 3


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def disk_error(exc: OSError, path: str | os.PathLike[str], what: str,
               then: str = "run the same command again") -> OSError | GantkError:
    """`exc` as a one-line DiskFullError when it says the disk (or the file size limit) is
    full; any other OSError is handed back unchanged, for the caller to re-raise."""
    if exc.errno not in _DISK_FULL:
        return exc
    where = mount_point(Path(path))
    reason = ("the file size limit (ulimit -f) was reached" if exc.errno == errno.EFBIG
              else f"no space left on device {where}")
    return DiskFullError(f"writing {what} to {path} failed: {reason}; free some space, then "
                         f"{then} (what was written before is intact)")


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding `path` (or its nearest existing parent)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    dev = path.stat().st_dev
    while path != path.parent and path.parent.stat().st_dev == dev:
        path = path.parent
    return path
