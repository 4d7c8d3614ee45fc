"""Typed plugin options, validated by the core before any work.

A spec's `options` is a pydantic model class (or a function returning one, so the plugin
module need not import pydantic at start-up). `validate_options` checks what the user gave
(`--set model.KEY=VALUE`, `-o KEY=VALUE`) against it: unknown keys, wrong types and values
out of range become one line that lists the known options with their defaults. Fields
without a default are required. Option names may be typed with `-` or `_`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gantk.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel


@dataclass(frozen=True)
class OptionInfo:
    """One option as `gantk plugins NAME` and the Dagster run config show it."""

    name: str
    type: str
    default: Any
    required: bool
    description: str

    def signature(self) -> str:
        return f"{self.name}: {self.type}" + ("" if self.required else f" = {self.default!r}")

    def line(self) -> str:
        value = "required" if self.required else f"default {self.default!r}"
        text = f"{self.name} ({self.type}, {value})"
        return f"{text}: {self.description}" if self.description else text


def lazy(path: str) -> Callable[[], type[BaseModel]]:
    """`options=lazy("my_plugin.options:MyOptions")`: the model's module is imported only
    when options are validated or listed, keeping pydantic off the start-up path."""
    module_name, _, attr = path.partition(":")

    def load() -> type[BaseModel]:
        import importlib

        return getattr(importlib.import_module(module_name), attr)

    load.__qualname__ = f"lazy({path!r})"
    return load


def options_model(spec: Any) -> type[BaseModel] | None:
    """The spec's options model class, resolving a lazy one; None when it has none."""
    from pydantic import BaseModel

    given = getattr(spec, "options", None)
    if given is None:
        return None
    model = given if isinstance(given, type) else given()
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigError(f"{spec.name!r}: its options must be a pydantic model class (or a "
                          f"function returning one), got {model!r}; fix the plugin")
    return model


def describe_options(spec: Any) -> list[OptionInfo]:
    """The known options of `spec` (empty when it declares none)."""
    model = options_model(spec)
    if model is None:
        return []
    infos = []
    for name, field in model.model_fields.items():
        infos.append(OptionInfo(name, type_name(field.annotation), None if field.is_required()
                                else field.get_default(call_default_factory=True),
                                field.is_required(), field.description or ""))
    return infos


def type_name(annotation: Any) -> str:
    """How an option's type reads: `int`, `int | None`, `list[float]`,
    `Literal['train', 'test']` (constraints such as `Annotated[int, Ge(0)]` left out)."""
    import types
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(map(repr, args))}]"
    if annotation is type(None):
        return "None"
    if args:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(map(type_name, args))}]"
    return getattr(annotation, "__name__", str(annotation))


def validate_options(spec: Any, kind: str, values: dict[str, Any] | None) -> dict[str, Any]:
    """`values` checked against `spec`'s options model: the given keys with their
    validated (converted) values. Unchanged when the spec declares no model."""
    from pydantic import ValidationError

    given = {str(k).replace("-", "_"): v for k, v in (values or {}).items()}
    model = options_model(spec)
    if model is None:
        return dict(values or {})
    unknown = sorted(set(given) - set(model.model_fields))
    if unknown:
        _refuse(spec, kind, f"unknown option(s) {', '.join(unknown)}")
    try:
        parsed = model.model_validate(given)
    except ValidationError as exc:
        problems = [_problem(given, e) for e in exc.errors()]
        _refuse(spec, kind, "; ".join(problems))
    return {k: getattr(parsed, k) for k in given}


def parse(spec: Any, kind: str, values: dict[str, Any] | None) -> Any:
    """The options model instance (defaults filled in), for the plugin's own use."""
    model = options_model(spec)
    if model is None:
        raise ConfigError(f"{kind} {spec.name!r} declares no options model")
    return model.model_validate(validate_options(spec, kind, values))


def read(model: type[BaseModel], kind: str, name: str, values: dict[str, Any] | None) -> Any:
    """`parse` for a builder that knows its model class: e.g. a builder shared by several
    architectures reads `config.model` with `read(DcganOptions, "architecture", "dcgan", …)`."""
    return parse(_Named(name, model), kind, values)


@dataclass(frozen=True)
class _Named:
    name: str
    options: Any


def _problem(values: dict[str, Any], error: dict[str, Any]) -> str:
    """`key=VALUE: what is wrong` (`(item N)` for one item of a list)."""
    loc = error["loc"]
    key = str(loc[0]) if loc else "options"
    given = f"={values[key]!r}" if key in values else " is missing"
    item = f" (item {loc[1]})" if len(loc) > 1 else ""
    return f"{key}{given}{item}: {error['msg'].lower()}"


def _refuse(spec: Any, kind: str, problem: str) -> None:
    known = ", ".join(o.signature() for o in describe_options(spec)) or "none"
    raise ConfigError(f"{kind} {spec.name!r}: {problem}; known options: {known} (described "
                      f"by `gantk plugins {spec.name}`)")
