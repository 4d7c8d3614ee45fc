"""What `gantk plugins` says: the listing (text and JSON), one item in detail, which
evaluations each architecture supports. Plain data and strings, no torch."""

from __future__ import annotations

from typing import Any

from gantk.contract.options import describe_options
from gantk.contract.registry import KINDS, PluginInfo, Registry
from gantk.errors import RegistryError


def supported_evals(registry: Registry, architecture: str) -> list[str]:
    """The evals and visualizations whose `requires` the architecture's capabilities meet."""
    offered = set(registry.architecture(architecture).capabilities)
    return [e.name for e in registry.evals() if set(e.requires) <= offered]


def eval_description(registry: Registry, spec: Any) -> str:
    """An evaluation for a UI (the Dagster asset's description): what it does, the
    capabilities it requires and which architectures offer them, its options."""
    parts = [spec.description or f"the {spec.name} {spec.kind} plugin"]
    if spec.requires:
        able = [a for a in registry.names("architecture")
                if set(spec.requires) <= set(registry.architecture(a).capabilities)]
        parts.append(f"Requires an architecture offering {', '.join(spec.requires)}: "
                     f"{', '.join(able) or 'none installed'}.")
    options = describe_options(spec)
    if options:
        parts.append("Options (run config `options`, as key=value): "
                     + "; ".join(o.line() for o in options) + ".")
    return "\n\n".join(parts)


def listing_document(registry: Registry) -> dict[str, Any]:
    """`gantk plugins --json`."""
    return {
        "plugins": [p.as_dict() for p in registry.plugins],
        "registered": {kind: registry.names(kind) for kind in KINDS},
        "commands": {name: text for p in registry.plugins for name, text in p.commands.items()},
        "supports": {a: supported_evals(registry, a) for a in registry.names("architecture")},
        "failures": [p.as_dict() for p in registry.failures],
    }


def listing_lines(registry: Registry, verbose: bool = False,
                  only: PluginInfo | None = None) -> list[str]:
    """`gantk plugins`: every plugin (or `only` one) and what it registered; FAILED ones at
    the end."""
    lines = []
    shown = [only] if only else registry.plugins
    for info in shown:
        origin = "built-in" if info.builtin else f"{info.package} {info.version}"
        lines.append(f"{info.name} ({origin}; {info.module})"
                     + ("  FAILED (see below)" if info.failed else ""))
        for kind, names in sorted(info.registered.items()):
            lines.append(f"    {kind}: {', '.join(names)}")
            if verbose:
                for name in names:
                    lines += ["      " + ln for ln in item_lines(registry, kind, name)[1:]]
        for name, text in info.commands.items():
            lines.append(f"    command: {name}" + (f" - {text}" if text else ""))
    failed = [p for p in shown if p.failed]
    if failed:
        lines.append(f"FAILED: {len(failed)} plugin(s) did not load fully "
                     "(the rest of gantk works):")
        lines += [f"  {_failure_line(p)}" for p in failed]
    return lines


def _failure_line(info: PluginInfo) -> str:
    return f"{info.name} ({info.package} {info.version}; {info.module}): {info.reasons()}"


def item_lines(registry: Registry, kind: str, name: str) -> list[str]:
    """One registered item in detail: description, contract fields, options."""
    spec = registry.get(kind, name)
    owner = registry.owner(kind, name)
    lines = [f"{kind} {name} (plugin {owner.name}, {owner.package} {owner.version})"
             + (f": {spec.description}" if spec.description else "")]
    if kind == "architecture":
        lines.append(f"resolutions: {', '.join(map(str, spec.resolutions))}; channels: "
                     f"{', '.join(map(str, spec.channels))}")
        lines.append(f"capabilities: {', '.join(spec.capabilities) or 'none'}")
        lines.append(f"supports: {', '.join(supported_evals(registry, name)) or 'none'}")
    elif kind == "eval":
        lines.append(f"kind: {spec.kind}; needs: {', '.join(spec.needs) or 'nothing'}; "
                     f"requires: {', '.join(spec.requires) or 'nothing'}")
    elif kind == "loss":
        lines.append(f"critic steps: {spec.critic_steps}; penalty: "
                     f"{'yes' if spec.penalty else 'no'}; needs real logits in the G step: "
                     f"{'yes' if spec.needs_real_logits else 'no'}")
    elif kind == "preset":
        lines.append(f"config: {spec.config}")
    options = describe_options(spec) if kind != "preset" else []
    if options:
        lines.append("options:")
        lines += [f"  {o.line()}" for o in options]
    return lines


def describe_item(registry: Registry, name: str) -> tuple[list[str], dict[str, Any]]:
    """`gantk plugins NAME`: every registered item of that name, or the plugin so named."""
    lines: list[str] = []
    doc: dict[str, Any] = {}
    for kind in KINDS:
        if name in registry.names(kind):
            lines += item_lines(registry, kind, name) + [""]
            spec = registry.get(kind, name)
            doc[kind] = {"description": spec.description,
                         "options": [o.__dict__ for o in describe_options(spec)]
                         if kind != "preset" else []}
            if kind == "architecture":
                doc[kind]["capabilities"] = list(spec.capabilities)
                doc[kind]["supports"] = supported_evals(registry, name)
            if kind == "eval":
                doc[kind]["requires"] = list(spec.requires)
    for info in registry.plugins:
        if info.name == name:
            lines += listing_lines(registry, verbose=True, only=info)
            doc["plugin"] = info.as_dict()
    if not lines:
        everything = sorted({n for k in KINDS for n in registry.names(k)})
        raise RegistryError(f"nothing is registered as {name!r}; registered: "
                            f"{', '.join(everything)}{registry.failure_note()}")
    while lines and not lines[-1]:
        lines.pop()
    return lines, _jsonable(doc)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
