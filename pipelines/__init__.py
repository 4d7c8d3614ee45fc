"""Dagster definitions for gantk: assets, asset checks, resources and jobs (only)."""
