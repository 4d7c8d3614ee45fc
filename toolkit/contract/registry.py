"""The plugin registry: pluggy discovery, one-by-one entry-point loading, name lookup.

Entry points are loaded one at a time (pluggy's `load_setuptools_entrypoints` stops at the
first failure): a broken plugin is recorded with its reason and never breaks the others.
An item a plugin may not register (a duplicate name, a wrong type, a bad name) is left out
and recorded on that plugin; its other items stay. `GANTK_PLUGINS` selects plugins.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from gantk import PROJECT, __version__
from gantk.contract import hookspecs
from gantk.contract.builtins import BUILTIN_PLUGINS
from gantk.contract.specs import (
    ArchitectureSpec,
    DatasetSpec,
    EvalSpec,
    LossSpec,
    PresetSpec,
    TrackerSpec,
)
from gantk.errors import RegistryError

KINDS: dict[str, tuple[str, type]] = {
    "architecture": ("register_architectures", ArchitectureSpec),
    "loss": ("register_losses", LossSpec),
    "eval": ("register_evals", EvalSpec),
    "dataset": ("register_datasets", DatasetSpec),
    "preset": ("register_presets", PresetSpec),
    "tracker": ("register_trackers", TrackerSpec),
}
ENV_FILTER = "GANTK_PLUGINS"
NAME_RULE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass
class PluginInfo:
    """One plugin module: where it comes from, what it implements, what it registered."""

    name: str
    package: str
    version: str
    module: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None  # the whole plugin failed (import, a hook raised)
    problems: list[str] = field(default_factory=list)  # items left out, the rest loaded
    commands: dict[str, str] = field(default_factory=dict)  # command name -> description

    @property
    def failed(self) -> bool:
        return bool(self.error or self.problems)

    def reasons(self) -> str:
        return "; ".join(([self.error] if self.error else []) + self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "package": self.package, "version": self.version,
            "module": self.module, "builtin": self.builtin, "hooks": self.hooks,
            "registered": self.registered, "commands": self.commands, "error": self.error,
            "problems": self.problems,
        }


class Registry:
    """Every registered architecture, loss, eval, dataset source and preset, by name."""

    def __init__(self, plugin_manager: pluggy.PluginManager, plugins: list[PluginInfo]):
        self.pm = plugin_manager
        self.plugins = plugins
        self._items: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._owner: dict[tuple[str, str], PluginInfo] = {}

    def add(self, kind: str, spec: Any, owner: PluginInfo) -> None:
        """Register `spec` of `kind` on behalf of `owner`; a wrong type, a name against the
        naming rule or a duplicate name is a RegistryError (and the spec is not added)."""
        expected = KINDS[kind][1]
        if not isinstance(spec, expected):
            raise RegistryError(
                f"plugin {owner.name!r} ({owner.package}) registered a {type(spec).__name__} "
                f"as a {kind}; pass a gantk.contract.specs.{expected.__name__}"
            )
        if not isinstance(spec.name, str) or not NAME_RULE.fullmatch(spec.name):
            raise RegistryError(
                f"plugin {owner.name!r} ({owner.package}) registered the {kind} name "
                f"{spec.name!r}; names are lower-case words joined by hyphens (my-{kind})"
            )
        previous = self._owner.get((kind, spec.name))
        if previous is not None:
            raise RegistryError(
                f"{kind} {spec.name!r} is registered twice: by {previous.package} "
                f"({previous.module}) and by {owner.package} ({owner.module}); "
                f"uninstall one or turn one off with {ENV_FILTER}=-PLUGIN"
            )
        self._items[kind][spec.name] = spec
        self._owner[(kind, spec.name)] = owner
        owner.registered.setdefault(kind, []).append(spec.name)

    def names(self, kind: str) -> list[str]:
        return sorted(self._items[kind])

    def get(self, kind: str, name: str) -> Any:
        try:
            return self._items[kind][name]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none"
            raise RegistryError(f"unknown {kind} {name!r}; registered: {known}"
                                f"{self.failure_note()}") from None

    def failure_note(self) -> str:
        """Why a name may be missing: the plugins that failed (a name is unknown because
        the plugin that offers it did not load)."""
        failed = [f"{p.name} ({p.package}): {p.reasons()}" for p in self.failures]
        if not failed:
            return ""
        return f" (plugins that failed, see `gantk plugins`: {'; '.join(failed)})"

    def owner(self, kind: str, name: str) -> PluginInfo:
        self.get(kind, name)
        return self._owner[(kind, name)]

    def architecture(self, name: str) -> ArchitectureSpec:
        return self.get("architecture", name)

    def loss(self, name: str) -> LossSpec:
        return self.get("loss", name)

    def eval(self, name: str) -> EvalSpec:
        return self.get("eval", name)

    def dataset(self, name: str) -> DatasetSpec:
        return self.get("dataset", name)

    def preset(self, name: str) -> PresetSpec:
        return self.get("preset", name)

    def evals(self, kind: str | None = None) -> list[EvalSpec]:
        specs = [self._items["eval"][n] for n in self.names("eval")]
        return [s for s in specs if kind is None or s.kind == kind]

    @property
    def failures(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.failed]


@dataclass(frozen=True)
class PluginFilter:
    """`GANTK_PLUGINS`, read like pytest's `-p`: comma-separated entries; a bare name
    restricts third-party plugins to those named, `-NAME` or `no:NAME` turns a plugin
    (built-in or third-party) off. Unset: everything loads; empty: no third-party plugin."""

    only: frozenset[str] | None = None
    off: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls) -> PluginFilter:
        raw = os.environ.get(ENV_FILTER)
        if raw is None:
            return cls()
        entries = [_canonical(e) for e in raw.split(",") if e.strip()]
        off = {e.removeprefix("no:").removeprefix("-") for e in entries
               if e.startswith(("-", "no:"))}
        only = {e for e in entries if not e.startswith(("-", "no:"))}
        return cls(None if off and not only else frozenset(only), frozenset(off))

    def loads(self, name: str, builtin: bool) -> bool:
        name = _canonical(name)
        if name in self.off:
            return False
        return builtin or self.only is None or name in self.only


def _canonical(name: str) -> str:
    """Plugin names compare with `_` and `-` alike (built-ins are module names)."""
    return name.strip().replace("_", "-")


def _load_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    infos: list[PluginInfo] = []
    selected = PluginFilter.from_env()
    for module_name in BUILTIN_PLUGINS:
        info = PluginInfo(module_name.rsplit(".", 1)[-1], PROJECT, __version__, module_name, True)
        if not selected.loads(info.name, builtin=True):
            continue
        _register_module(pm, info, lambda m=module_name: importlib.import_module(m))
        infos.append(info)
    for ep in metadata.entry_points(group=PROJECT):
        if not selected.loads(ep.name, builtin=False):
            continue
        dist = ep.dist
        info = PluginInfo(ep.name, dist.name if dist else "?", dist.version if dist else "?",
                          ep.value, False)
        _register_module(pm, info, ep.load)
        infos.append(info)
    return infos


def _register_module(pm: pluggy.PluginManager, info: PluginInfo, load: Any) -> None:
    try:
        module = load()
        pm.register(module, name=f"{info.package}:{info.name}")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a broken plugin (even one calling sys.exit) is recorded
        info.error = f"failed to load: {describe(exc)}"
        return
    info.hooks = sorted(
        caller.name for caller in pm.get_hookcallers(module) or []
        if caller.name.startswith("register_")
    )


def build_registry() -> Registry:
    """Discover plugins and collect everything they register (uncached)."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    infos = _load_plugins(pm)
    registry = Registry(pm, infos)
    by_plugin_name = {f"{i.package}:{i.name}": i for i in infos}
    for kind, (hook_name, _) in KINDS.items():
        # registration order: built-ins first, so a third-party duplicate is the one left out
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            owner = by_plugin_name[impl.plugin_name]
            try:
                impl.function(register=_register_callback(registry, kind, owner))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                owner.problems.append(f"{hook_name} failed: {describe(exc)}")
    return registry


def _register_callback(registry: Registry, kind: str, owner: PluginInfo) -> Any:
    """The `register` a hook receives: an item it may not register is left out and
    recorded on its plugin; the plugin's other items and every other plugin stay."""

    def register(spec: Any) -> None:
        try:
            registry.add(kind, spec, owner)
        except RegistryError as exc:
            owner.problems.append(str(exc))

    return register


def describe(exc: BaseException) -> str:
    """An exception as one line: its type and message."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = build_registry()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the cached registry (after installing or uninstalling a plugin)."""
    global _REGISTRY
    _REGISTRY = None
