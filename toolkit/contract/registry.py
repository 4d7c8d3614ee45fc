"""The plugin registry: pluggy discovery, one-by-one entry-point loading, name lookup.

Entry points are loaded one at a time (pluggy's `load_setuptools_entrypoints` stops at the
first failure): a broken plugin is recorded with its reason and never breaks the others.
"""

from __future__ import annotations

import importlib
import os
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
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "package": self.package, "version": self.version,
            "module": self.module, "builtin": self.builtin, "hooks": self.hooks,
            "registered": self.registered, "error": self.error,
        }


class Registry:
    """Every registered architecture, loss, eval, dataset source and preset, by name."""

    def __init__(self, plugin_manager: pluggy.PluginManager, plugins: list[PluginInfo]):
        self.pm = plugin_manager
        self.plugins = plugins
        self._items: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._owner: dict[tuple[str, str], PluginInfo] = {}

    def add(self, kind: str, spec: Any, owner: PluginInfo) -> None:
        """Register `spec` of `kind` on behalf of `owner`; a duplicate name is an error."""
        expected = KINDS[kind][1]
        if not isinstance(spec, expected):
            raise RegistryError(
                f"plugin {owner.name!r} ({owner.package}) registered a {type(spec).__name__} "
                f"as a {kind}; pass a gantk.contract.specs.{expected.__name__}"
            )
        previous = self._owner.get((kind, spec.name))
        if previous is not None:
            raise RegistryError(
                f"{kind} {spec.name!r} is registered twice: by {previous.package} "
                f"({previous.module}) and by {owner.package} ({owner.module}); "
                f"uninstall one or restrict plugins with {ENV_FILTER}=…"
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
            raise RegistryError(f"unknown {kind} {name!r}; registered: {known}") from None

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
        return [p for p in self.plugins if p.error]


def _selected_entry_points() -> list[metadata.EntryPoint]:
    eps = list(metadata.entry_points(group=PROJECT))
    wanted = os.environ.get(ENV_FILTER)
    if wanted is None:
        return eps
    names = {w.strip() for w in wanted.split(",") if w.strip()}
    return [ep for ep in eps if ep.name in names]


def _load_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    infos: list[PluginInfo] = []
    for module_name in BUILTIN_PLUGINS:
        info = PluginInfo(module_name.rsplit(".", 1)[-1], PROJECT, __version__, module_name, True)
        _register_module(pm, info, lambda m=module_name: importlib.import_module(m))
        infos.append(info)
    for ep in _selected_entry_points():
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
    except Exception as exc:  # a broken plugin must not break the others
        info.error = f"{type(exc).__name__}: {exc}"
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
        for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
            owner = by_plugin_name[impl.plugin_name]
            try:
                impl.function(register=lambda spec, k=kind, o=owner: registry.add(k, spec, o))
            except RegistryError:
                raise
            except Exception as exc:
                owner.error = f"{hook_name} failed: {type(exc).__name__}: {exc}"
    return registry


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
