"""The core CLI commands; each module here exposes `register(app)` and is picked up by
gantk.cli.app (ORDER first, the rest alphabetically)."""

ORDER = ("run", "info", "evaluate", "plugins")
