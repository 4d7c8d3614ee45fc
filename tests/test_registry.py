"""The plugin registry: built-ins, errors that name names, broken plugins reported."""

from __future__ import annotations

import sys
import types
from importlib import metadata

import pytest

from gantk import hookimpl
from gantk.contract.registry import Registry, build_registry, get_registry
from gantk.contract.specs import ArchitectureSpec, LossSpec
from gantk.errors import RegistryError


def test_builtins_register_through_hooks():
    registry = get_registry()
    assert {"dcgan", "dcgan-pytorch"} <= set(registry.names("architecture"))
    assert "nonsaturating" in registry.names("loss")
    assert "dcgan" in registry.names("preset")
    assert {"fashion-mnist", "mnist", "digits"} <= set(registry.names("dataset"))
    owner = registry.owner("architecture", "dcgan")
    assert owner.builtin and owner.package == "gantk"
    assert "register_architectures" in owner.hooks


def test_unknown_name_lists_registered():
    with pytest.raises(RegistryError) as err:
        get_registry().architecture("nope")
    assert "unknown architecture 'nope'" in str(err.value)
    assert "dcgan" in str(err.value) and "dcgan-pytorch" in str(err.value)


def test_duplicate_name_names_both_packages():
    registry = Registry(None, [])
    from gantk.contract.registry import PluginInfo

    first = PluginInfo("a", "pkg-one", "1", "one.mod", False)
    second = PluginInfo("b", "pkg-two", "2", "two.mod", False)
    spec = LossSpec("same", d_loss=lambda r, f: r, g_loss=lambda f: f)
    registry.add("loss", spec, first)
    with pytest.raises(RegistryError) as err:
        registry.add("loss", spec, second)
    assert "pkg-one" in str(err.value) and "pkg-two" in str(err.value)


def test_wrong_spec_type_is_an_error():
    from gantk.contract.registry import PluginInfo

    registry = Registry(None, [])
    with pytest.raises(RegistryError, match="ArchitectureSpec"):
        registry.add("architecture", LossSpec("x", lambda r, f: r, lambda f: f),
                     PluginInfo("a", "p", "1", "m", False))


class _FakeEntryPoint:
    def __init__(self, name, target, dist_name="gantk-fake"):
        self.name, self.value, self._target = name, f"fake.{name}", target
        self.dist = types.SimpleNamespace(name=dist_name, version="9.9")

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def _plugin_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def register_architectures(register):
        from gantk.plugins.architectures.dcgan import build_dcgan

        register(ArchitectureSpec(f"{name}-arch", build_dcgan, (32,)))

    module.register_architectures = register_architectures
    return module


def _install_fake_entry_points(monkeypatch, eps):
    real = metadata.entry_points

    def fake(**kwargs):
        return eps if kwargs.get("group") == "gantk" else real(**kwargs)

    monkeypatch.setattr(metadata, "entry_points", fake)


def test_broken_plugin_is_recorded_and_others_load(monkeypatch):
    eps = [_FakeEntryPoint("broken", ImportError("no module named boom")),
           _FakeEntryPoint("good", _plugin_module("good"))]
    _install_fake_entry_points(monkeypatch, eps)
    registry = build_registry()
    assert "good-arch" in registry.names("architecture")
    (failure,) = registry.failures
    assert failure.name == "broken" and failure.package == "gantk-fake"
    assert "no module named boom" in failure.error


def test_env_filter_restricts_third_party_plugins(monkeypatch):
    _install_fake_entry_points(monkeypatch, [_FakeEntryPoint("good", _plugin_module("good")),
                                             _FakeEntryPoint("other", _plugin_module("other"))])
    monkeypatch.setenv("GANTK_PLUGINS", "other")
    names = build_registry().names("architecture")
    assert "other-arch" in names and "good-arch" not in names
    assert "dcgan" in names  # built-ins always load
    monkeypatch.setenv("GANTK_PLUGINS", "")
    assert "other-arch" not in build_registry().names("architecture")


def test_third_party_duplicate_of_builtin_fails(monkeypatch):
    module = types.ModuleType("dup")

    @hookimpl
    def register_losses(register):
        register(LossSpec("nonsaturating", lambda r, f: r, lambda f: f))

    module.register_losses = register_losses
    _install_fake_entry_points(monkeypatch, [_FakeEntryPoint("dup", module, "gantk-dup")])
    with pytest.raises(RegistryError, match="gantk-dup"):
        build_registry()
    sys.modules.pop("dup", None)
