"""Each eval/visualization asset's run config: the shared knobs plus a typed `settings`
section built from the plugin's options model, so the launchpad shows every option with
its type, default and description (`gantk plugins NAME` lists the same).

Dagster's config types are narrower than pydantic's: an option typed `int`, `float`,
`bool`, `str` or a list of those keeps its type; a union such as `int | "all"` becomes
text, read like `-o KEY=VALUE` (JSON when it parses). Every field may be left empty: the
plugin's default applies, and the core validates the values before any work, as for
`gantk eval`.
"""

import json
import types
import typing
from typing import Any

from dagster import Config
from pydantic import Field, create_model

from gantk.contract.options import OptionInfo, describe_options, options_model
from gantk.contract.specs import EvalSpec
from gantk.pipelines.conventions import Device

SCALARS = (int, float, bool, str)


class EvalConfig(Config):
    """Run config of an evaluation or visualization (the knobs of `gantk eval`)."""

    options: list[str] = Field(default_factory=list, description="plugin options key=value "
                               "(as `gantk eval -o`); the typed `settings` are the same")
    data: str | None = Field(None, description="ImageStore to use; default: the store the "
                             "model was trained on")
    device: Device = Field(Device.auto, description="cpu, cuda or auto")
    seed: int = 0


def eval_config_class(spec: EvalSpec) -> type[EvalConfig]:
    """EvalConfig with a `settings` section typed after `spec`'s options model (EvalConfig
    itself when the plugin declares none, or when its model cannot be read: then `options`
    still works and the core reports the plugin's fault when the asset runs)."""
    try:
        return _typed_config(spec)
    except Exception:  # a plugin's broken options model must not take the code location down
        return EvalConfig


def _typed_config(spec: EvalSpec) -> type[EvalConfig]:
    model = options_model(spec)
    if model is None:
        return EvalConfig
    infos = {o.name: o for o in describe_options(spec)}
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        kind, _ = dagster_type(field.annotation)
        fields[name] = (kind | None, Field(None, description=_described(infos[name])))
    camel = "".join(part.title() for part in spec.name.replace("_", "-").split("-"))
    settings = create_model(f"{camel}Settings", __base__=Config, **fields)
    return create_model(f"{camel}EvalConfig", __base__=EvalConfig,
                        settings=(settings, Field(default_factory=settings,
                                                  description=f"{spec.name}'s options, typed")))


def _described(info: OptionInfo) -> str:
    """The option's description with its default (unless the description says it)."""
    default = "required" if info.required else f"default {info.default!r}"
    if not info.description:
        return default
    if info.default is None and not info.required and "default" in info.description:
        return info.description
    return f"{info.description} ({default})"


def chosen_options(spec: EvalSpec, config: EvalConfig) -> dict[str, Any]:
    """The options a launch asked for: the typed settings that were filled in, then the
    `options` strings (which win)."""
    from gantk.training.config import parse_options

    given: dict[str, Any] = {}
    settings = getattr(config, "settings", None)
    model = options_model(spec)
    if settings is not None and model is not None:
        for name, field in model.model_fields.items():
            value = getattr(settings, name)
            if value is not None:
                given[name] = _read_text(value) if dagster_type(field.annotation)[1] else value
    return {**given, **parse_options(config.options)}


def dagster_type(annotation: Any) -> tuple[Any, bool]:
    """(the Dagster-expressible type for an option's annotation, whether it fell back to
    text that is read like `-o KEY=VALUE`)."""
    annotation = _unwrap(annotation)
    if annotation in SCALARS:
        return annotation, False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and len(args) == 1 and _unwrap(args[0]) in SCALARS:
        return list[_unwrap(args[0])], False
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return dagster_type(rest[0])
    return str, True


def _unwrap(annotation: Any) -> Any:
    """`Annotated[X, ...]` -> X."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _read_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
