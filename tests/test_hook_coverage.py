"""Every hook spec in gantk.contract.hookspecs must have a test that proves it works for a
third-party plugin: a test marked `@pytest.mark.hooks("register_…")` that installs a
plugin implementing the hook and observes its effect (see tests/test_plugin_package.py).

The marks are read from the test sources, so the check holds however the suite is
selected; a mark naming no hook spec (a renamed or removed hook) fails too."""

from __future__ import annotations

import ast
from pathlib import Path

from gantk import PROJECT
from gantk.contract import hookspecs

TESTS = Path(__file__).resolve().parent


def hookspec_names() -> set[str]:
    return {name for name, fn in vars(hookspecs).items()
            if callable(fn) and hasattr(fn, f"{PROJECT}_spec")}


def marked_hooks() -> dict[str, list[str]]:
    """hook name -> the tests marked as exercising it."""
    found: dict[str, list[str]] = {}
    for path in sorted(TESTS.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
                continue
            for deco in node.decorator_list:
                if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                        and deco.func.attr == "hooks"
                        and ast.unparse(deco.func.value) == "pytest.mark"):
                    for arg in deco.args:
                        found.setdefault(ast.literal_eval(arg), []).append(
                            f"{path.name}::{node.name}")
    return found


def test_hookspecs_are_found():
    assert {"register_architectures", "register_commands"} <= hookspec_names()


def test_every_hookspec_has_a_test():
    missing = sorted(hookspec_names() - marked_hooks().keys())
    assert not missing, (f"hook spec(s) {missing} have no test marked "
                         "@pytest.mark.hooks(...) that exercises them with a plugin")


def test_no_mark_names_an_unknown_hook():
    stale = {h: t for h, t in marked_hooks().items() if h not in hookspec_names()}
    assert not stale, f"tests marked with hooks that are not hook specs: {stale}"

