"""Dagster definitions for gantk: assets, asset checks, resources and jobs (only)."""

# The asset modules avoid `from __future__ import annotations`: Dagster reads the Config and
# resource parameter annotations of asset functions when the definitions are built.
