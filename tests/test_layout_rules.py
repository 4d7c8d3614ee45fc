"""The house rules of DESIGN.md, kept by a test instead of by care: every `gantk` import
in the four wings is read (AST, so lazy imports inside functions count too) and checked
against what each wing may import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WINGS = {"toolkit": "gantk", "plugins": "gantk.plugins", "datasets": "gantk.datasets",
         "pipelines": "gantk.pipelines"}
# what each wing must never import (module prefixes)
NEVER = {
    "toolkit": ("gantk.plugins", "gantk.datasets", "gantk.pipelines", "dagster",
                "dagster_pipes"),
    "plugins": ("gantk.datasets", "gantk.pipelines", "dagster", "dagster_pipes"),
    "datasets": ("gantk.plugins", "gantk.pipelines", "dagster", "dagster_pipes"),
    "pipelines": (),
}
BARE_WINGS = ("toolkit", "plugins", "datasets", "pipelines")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in `path`, relative ones marked with dots."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(wing: str) -> list[str]:
    found = []
    for path in sorted((ROOT / wing).rglob("*.py")):
        where = path.relative_to(ROOT)
        for line, module in imports_of(path):
            if module.startswith("."):
                found.append(f"{where}:{line}: relative import {module!r}; use gantk.…")
            elif module.split(".")[0] in BARE_WINGS:
                found.append(f"{where}:{line}: bare wing name {module!r}; use gantk.…")
            elif any(_matches(module, p) for p in NEVER[wing]):
                found.append(f"{where}:{line}: {wing}/ must not import {module}")
    return found


@pytest.mark.parametrize("wing", sorted(WINGS))
def test_wing_imports_follow_the_house_rules(wing):
    assert violations(wing) == []


def test_the_rules_catch_a_violation(tmp_path, monkeypatch):
    """The checker itself: a core module that imports a plugin is reported."""
    (tmp_path / "toolkit").mkdir()
    (tmp_path / "toolkit" / "bad.py").write_text(
        "def f():\n    from gantk.plugins.architectures import dcgan\n    import datasets\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    found = violations("toolkit")
    assert len(found) == 2
    assert "must not import gantk.plugins.architectures" in found[0]
    assert "bare wing name 'datasets'" in found[1]


def test_builtin_list_is_the_only_place_the_core_names_plugins():
    """Outside gantk.contract.builtins, the core never names a concrete plugin module,
    not even as a string for importlib."""
    named = []
    for path in sorted((ROOT / "toolkit").rglob("*.py")):
        if path.name == "builtins.py" and path.parent.name == "contract":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    node.value.startswith(("gantk.plugins.", "gantk.datasets."))):
                named.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert named == []
