"""docs/plugins.md is the plugin author's whole reference: every field of every spec is
documented in its section, and every import it shows works."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest

from gantk.contract import specs

DOC = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
# each spec class, documented in the section whose heading names it
SPECS = [specs.ArchitectureSpec, specs.LossSpec, specs.EvalSpec, specs.EvalContext,
         specs.ScoreContext, specs.EvalResult, specs.DatasetSpec, specs.Record, specs.Skipped,
         specs.PresetSpec, specs.TrackerSpec]


def _section(name: str) -> str:
    sections = re.split(r"^## ", DOC, flags=re.M)
    found = [s for s in sections if f"`{name}`" in s.splitlines()[0]]
    assert found, f"docs/plugins.md has no section headed with `{name}`"
    return found[0]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.__name__)
def test_every_spec_field_is_documented(spec):
    section = _section(spec.__name__)
    missing = [f.name for f in dataclasses.fields(spec)
               if not re.search(rf"`{f.name}[`(]", section)]
    assert not missing, f"{spec.__name__} fields undocumented in docs/plugins.md: {missing}"


def test_every_capability_is_documented():
    section = _section("ArchitectureSpec")
    assert all(f"| `{name}` |" in section for name in specs.CAPABILITIES)


def test_every_import_shown_works():
    imports = re.findall(r"from (gantk(?:\.\w+)*) import ([\w, ]+)", DOC)
    assert len(imports) >= 10
    for module_name, names in imports:
        module = importlib.import_module(module_name)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(module, name), f"docs/plugins.md: {module_name} has no {name}"
    assert "toolkit/" not in DOC  # authors type import paths, not repository folders


def test_naming_rules_list_every_core_command():
    import typer

    from gantk.cli.app import _register_core_commands
    from gantk.contract.commands import command_names

    core = typer.Typer()
    _register_core_commands(core)
    rules = DOC.split("## Naming rules")[1].split("\n## ")[0]
    missing = [name for name in command_names(core) if f"`{name}`" not in rules]
    assert len(command_names(core)) >= 8 and not missing, (
        f"docs/plugins.md's naming rules omit core commands {missing}")
