"""The `gantk` command line: a thin face over the Python API.

Start-up stays light (no torch, no dagster): heavy imports happen inside commands.
"""

from __future__ import annotations

import os
import sys

import typer

from gantk import __version__
from gantk.errors import GantkError

app = typer.Typer(
    name="gantk", no_args_is_help=True, add_completion=False,
    pretty_exceptions_enable=False, rich_markup_mode=None,
    help="A modular plug-in GAN toolkit built around DCGAN (Radford, Metz, Chintala 2015).",
)
_DEBUG_ENV = "GANTK_DEBUG"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gantk {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show tracebacks for errors"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    if debug:
        os.environ[_DEBUG_ENV] = "1"


def _register_core_commands(target: typer.Typer | None = None) -> None:
    """Every module in gantk.cli.commands exposes `register(app)`; order: `ORDER`, then a-z.
    `target`: another Typer app to fill (default: gantk's own)."""
    import importlib
    import pkgutil

    from gantk.cli import commands

    names = sorted(m.name for m in pkgutil.iter_modules(commands.__path__))
    names.sort(key=lambda n: commands.ORDER.index(n) if n in commands.ORDER else len(names))
    for name in names:
        importlib.import_module(f"gantk.cli.commands.{name}").register(target or app)


def _register_plugin_commands() -> None:
    """Let plugins add sub-commands; a failing or clashing one is reported by `gantk plugins`."""
    from gantk.contract.commands import add_plugin_commands
    from gantk.contract.registry import get_registry

    add_plugin_commands(app, get_registry())


def _install_signal_handlers() -> None:
    """SIGTERM (docker stop, Slurm, systemd) stops a command as Ctrl-C does, so it can
    finish cleanly (a training writes its checkpoint); SIGXFSZ is ignored, so a write over
    the file size limit fails with EFBIG, which the command reports in one line, instead
    of killing the process without a word."""
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line and exit code 2 for user errors (`--debug` for more)."""
    _install_signal_handlers()
    _register_core_commands()
    _register_plugin_commands()
    try:
        app(args=argv, prog_name="gantk")
    except GantkError as exc:
        if os.environ.get(_DEBUG_ENV) or "--debug" in (argv or sys.argv):
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
