"""`gantk plugins`: what is installed, what each plugin registered, what failed to load."""

from __future__ import annotations

import json

import typer


def plugins(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """List every plugin with its package, version, hooks and registered names."""
    from gantk.contract.registry import KINDS, get_registry

    registry = get_registry()
    if as_json:
        doc = {"plugins": [p.as_dict() for p in registry.plugins],
               "registered": {kind: registry.names(kind) for kind in KINDS},
               "failures": [p.as_dict() for p in registry.failures]}
        typer.echo(json.dumps(doc, indent=2))
        return
    for info in registry.plugins:
        origin = "built-in" if info.builtin else f"{info.package} {info.version}"
        status = f"  FAILED: {info.error}" if info.error else ""
        typer.echo(f"{info.name} ({origin}; {info.module}){status}")
        for kind, names in sorted(info.registered.items()):
            typer.echo(f"    {kind}: {', '.join(names)}")
    if registry.failures:
        typer.echo(f"{len(registry.failures)} plugin(s) failed to load; see FAILED above")


def register(app: typer.Typer) -> None:
    app.command("plugins")(plugins)
