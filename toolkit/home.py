"""Default locations, all under one root: GANTK_HOME (default ~/.gantk)."""

from __future__ import annotations

import os
from pathlib import Path


def gantk_home() -> Path:
    return Path(os.environ.get("GANTK_HOME", Path.home() / ".gantk")).expanduser()


def stores_dir() -> Path:
    return gantk_home() / "stores"


def runs_dir() -> Path:
    return gantk_home() / "runs"
