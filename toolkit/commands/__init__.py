"""The core CLI commands; each module here exposes `register(app)` and is picked up by
gantk.cli (ORDER first, the rest alphabetically)."""

ORDER = ("run", "info", "evaluate", "plugins")
