"""Plugin sub-commands: each plugin's `register_commands(app)` runs against the real Typer
app, then what it added is checked. A command named like a core command or like one an
earlier plugin added is taken out again and recorded on the plugin (shown under FAILED by
`gantk plugins`); a plugin whose hook raises loses what it added. Nothing is replaced
silently."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gantk.contract.registry import PluginInfo, Registry, describe

if TYPE_CHECKING:
    import typer


def command_names(app: typer.Typer) -> dict[str, str]:
    """The app's sub-commands and command groups: name -> one-line description."""
    from typer.main import get_command_name

    names: dict[str, str] = {}
    for info in app.registered_commands:
        name = info.name or get_command_name(info.callback.__name__)
        names[name] = _first_line(info.help or info.callback.__doc__)
    for group in app.registered_groups:
        name = group.name or group.typer_instance.info.name
        if isinstance(name, str):
            names[name] = _first_line(group.help if isinstance(group.help, str)
                                      else group.typer_instance.info.help)
    return names


def _first_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def add_plugin_commands(app: typer.Typer, registry: Registry) -> None:
    """Let every plugin add its sub-commands to `app`, refusing clashes (see module doc)."""
    taken = {name: "the core" for name in command_names(app)}
    owners = {f"{p.package}:{p.name}": p for p in registry.plugins}
    for impl in registry.pm.hook.register_commands.get_hookimpls():
        owner = owners[impl.plugin_name]
        before = (len(app.registered_commands), len(app.registered_groups))
        try:
            impl.function(app=app)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            del app.registered_commands[before[0]:], app.registered_groups[before[1]:]
            owner.problems.append(f"register_commands failed: {describe(exc)}")
            continue
        _keep_unclashing(app, before, owner, taken)


def _keep_unclashing(app: typer.Typer, before: tuple[int, int], owner: PluginInfo,
                     taken: dict[str, str]) -> None:
    for attr, start in (("registered_commands", before[0]), ("registered_groups", before[1])):
        entries = getattr(app, attr)
        kept = entries[:start]
        for entry in entries[start:]:
            probe = _single(app, attr, entry)
            name, description = next(iter(probe.items()), (None, ""))
            if name is not None and name in taken:
                owner.problems.append(
                    f"command {name!r} clashes with {taken[name]}'s command of that name; "
                    f"refused (prefix it, e.g. {owner.name}-{name})")
                continue
            kept.append(entry)
            if name is not None:
                taken[name] = f"plugin {owner.name!r} ({owner.package})"
                owner.commands[name] = description
        setattr(app, attr, kept)


def _single(app: typer.Typer, attr: str, entry: Any) -> dict[str, str]:
    """The name and description of one registered command or group."""
    import typer

    probe = typer.Typer()
    getattr(probe, attr).append(entry)
    return command_names(probe)
