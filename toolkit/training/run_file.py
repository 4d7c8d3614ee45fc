"""Run files: any RunConfig keys in TOML (or JSON, so that a run directory's config.json
is a valid run file), read with the standard library, and the TOML a `gantk config`
prints as a starting point to edit."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gantk.errors import ConfigError
from gantk.training.config import RunConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib


def read_run_file(path: str | Path) -> dict[str, Any]:
    """The file's keys as one config layer; unknown keys are refused in one line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config {path}: no such file; pass a TOML or JSON run file "
                          "(`gantk config PRESET > run.toml` writes one)")
    text = path.read_text()
    try:
        layer = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise ConfigError(f"--config {path}: not valid {kind} ({exc}); fix the file") from None
    if not isinstance(layer, dict):
        raise ConfigError(f"--config {path}: expected a table of config keys")
    unknown = sorted(set(layer) - set(RunConfig.model_fields))
    if unknown:
        known = ", ".join(sorted(RunConfig.model_fields))
        raise ConfigError(f"--config {path}: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"known keys: {known}")
    return layer


def to_toml(config: RunConfig) -> str:
    """The configuration as a run file: every set key, unset ones (None) as comments."""
    import tomli_w

    raw = json.loads(config.model_dump_json())
    unset = [key for key, value in raw.items() if value is None]
    body = tomli_w.dumps({k: v for k, v in raw.items() if v is not None})
    notes = "".join(f"# {key}: unset ({_field_help(key)})\n" for key in unset)
    head = "# a gantk run file: `gantk run --config FILE`; flags and --set override it\n"
    return head + notes + body


def _field_help(key: str) -> str:
    return RunConfig.model_fields[key].description or "default"
