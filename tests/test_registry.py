"""The plugin registry: built-ins, errors that name names, broken plugins reported."""

from __future__ import annotations

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
        if isinstance(self._target, BaseException):
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


def _module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookimpl(fn))
    return module


def _dup_losses(register):
    register(LossSpec("nonsaturating", lambda r, f: r, lambda f: f))
    register(LossSpec("dup-own", lambda r, f: r, lambda f: f))


def test_third_party_duplicate_of_builtin_is_left_out_and_reported(monkeypatch):
    module = _module("dup", register_losses=_dup_losses)
    _install_fake_entry_points(monkeypatch, [_FakeEntryPoint("dup", module, "gantk-dup")])
    registry = build_registry()
    assert registry.owner("loss", "nonsaturating").builtin  # the built-in keeps its name
    assert "dup-own" in registry.names("loss")  # the plugin's other items stay
    (failure,) = registry.failures
    assert failure.package == "gantk-dup" and failure.error is None
    (problem,) = failure.problems
    assert "'nonsaturating' is registered twice" in problem and "gantk-dup" in problem


def test_wrong_type_bad_name_and_raising_hook_are_contained(monkeypatch):
    def wrong(register):
        register(LossSpec("fine-loss", lambda r, f: r, lambda f: f))
        register("not a spec")
        register(LossSpec("Bad_Name", lambda r, f: r, lambda f: f))

    def boom(register):
        raise SystemExit(3)

    eps = [_FakeEntryPoint("wrong", _module("wrong", register_losses=wrong)),
           _FakeEntryPoint("boom", _module("boom", register_presets=boom)),
           _FakeEntryPoint("exits", SystemExit(1))]
    _install_fake_entry_points(monkeypatch, eps)
    registry = build_registry()
    assert "fine-loss" in registry.names("loss") and "Bad_Name" not in registry.names("loss")
    failures = {f.name: f for f in registry.failures}
    assert set(failures) == {"wrong", "boom", "exits"}
    wrong_problems = " | ".join(failures["wrong"].problems)
    assert "registered a str as a loss" in wrong_problems
    assert "lower-case words joined by hyphens" in wrong_problems
    assert failures["boom"].problems == ["register_presets failed: it called sys.exit(3)"]
    assert failures["exits"].error == "failed to load: it called sys.exit(1)"
    assert "dcgan" in registry.names("preset")


def test_keyboard_interrupt_is_not_swallowed(monkeypatch):
    _install_fake_entry_points(monkeypatch, [_FakeEntryPoint("ctrl-c", KeyboardInterrupt())])
    with pytest.raises(KeyboardInterrupt):
        build_registry()


def test_unknown_name_says_which_plugin_failed(monkeypatch):
    _install_fake_entry_points(monkeypatch, [
        _FakeEntryPoint("mine", ImportError("No module named 'resnet_blocks'"), "gantk-mine")])
    registry = build_registry()
    with pytest.raises(RegistryError) as err:
        registry.preset("mine")
    message = str(err.value)
    assert "unknown preset 'mine'" in message and "\n" not in message
    assert "mine (gantk-mine)" in message and "resnet_blocks" in message


def test_env_filter_turns_a_builtin_off_so_a_plugin_can_replace_it(monkeypatch):
    module = _module("better", register_losses=lambda register: register(
        LossSpec("hinge", lambda r, f: r, lambda f: f, description="replacement")))
    _install_fake_entry_points(monkeypatch, [_FakeEntryPoint("better", module)])
    monkeypatch.setenv("GANTK_PLUGINS", "-hinge")
    registry = build_registry()
    assert not registry.failures
    assert registry.loss("hinge").description == "replacement"
    assert "better" in [p.name for p in registry.plugins]  # negatives alone keep the rest
    monkeypatch.setenv("GANTK_PLUGINS", "no:wgan_gp,no:better")  # - and _ alike
    registry = build_registry()
    assert "wgan-gp" not in registry.names("loss")
    assert registry.owner("loss", "hinge").builtin
    assert "wgan_gp" not in [p.name for p in registry.plugins]


def test_hookspecs_are_typed():
    import collections.abc
    import typing

    from gantk.contract import hookspecs, specs

    for hook, spec in [("register_architectures", specs.ArchitectureSpec),
                       ("register_losses", specs.LossSpec), ("register_evals", specs.EvalSpec),
                       ("register_datasets", specs.DatasetSpec),
                       ("register_presets", specs.PresetSpec)]:
        hints = typing.get_type_hints(getattr(hookspecs, hook))
        assert typing.get_origin(hints["register"]) is collections.abc.Callable, hook
        assert typing.get_args(hints["register"]) == ([spec], None), hook
        assert hints["return"] is type(None)


def test_builtin_names_follow_the_naming_rule():
    from gantk.contract.registry import KINDS, NAME_RULE

    registry = get_registry()
    assert not registry.failures
    for kind in KINDS:
        assert all(NAME_RULE.fullmatch(n) for n in registry.names(kind)), kind
