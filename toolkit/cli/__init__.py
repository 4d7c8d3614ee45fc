"""The `gantk` command line: a thin face over the core (`gantk.cli.app`), one module
per core command in `gantk.cli.commands`."""
