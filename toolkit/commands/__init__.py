"""The core CLI commands (the `gantk` Typer app lives in gantk.cli)."""
