"""`gantk plugins`: what is installed, what each plugin registered, what failed to load."""

from __future__ import annotations

import json

import typer

FAILED_EXIT = 2  # a broken plugin is a problem of the environment the user must fix


def plugins(
    name: str = typer.Argument(None, help="show one registered item (its options, "
                                          "capabilities, supported evals) or one plugin"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="also show every item's options and capabilities"),
) -> None:
    """List every plugin with its package, version, hooks, registered names and commands.

    Exits with code 2 when a plugin (or one of its items) failed, listed under FAILED."""
    from gantk.contract.describe import describe_item, listing_document, listing_lines
    from gantk.contract.registry import get_registry

    registry = get_registry()
    if name is not None:
        lines, doc = describe_item(registry, name)
        typer.echo(json.dumps(doc, indent=2) if as_json else "\n".join(lines))
        return
    if as_json:
        typer.echo(json.dumps(listing_document(registry), indent=2))
    else:
        typer.echo("\n".join(listing_lines(registry, verbose)))
    if registry.failures:
        raise typer.Exit(FAILED_EXIT)


def register(app: typer.Typer) -> None:
    app.command("plugins")(plugins)
