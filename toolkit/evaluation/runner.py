"""Running a registered evaluation or visualization on a trained run.

The one function behind `gantk eval`, `gantk viz` and the Dagster evaluate/visualize
assets: it resolves the plugin, checks what it needs, and writes `result.json` beside the
plugin's figures in `RUN/evals/NAME/` (or `out_dir`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk.atomic import write_text_atomic
from gantk.contract.options import validate_options
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec
from gantk.errors import ConfigError

if TYPE_CHECKING:
    from gantk.contract.registry import Registry


def eval_dir(run_dir: str | os.PathLike[str], name: str) -> Path:
    return Path(run_dir) / "evals" / name


def _check_needs(spec: EvalSpec, run_dir: Path | None, data: Path | None) -> None:
    if "model" in spec.needs and run_dir is None:
        raise ConfigError(f"{spec.kind} {spec.name!r} needs a trained run: pass --run RUN_DIR")
    if "model" in spec.needs and not (Path(run_dir) / "config.json").is_file():
        raise ConfigError(f"{run_dir} is not a gantk run (no config.json); pass a directory "
                          "written by `gantk run`")
    if "data" in spec.needs and data is None:
        raise ConfigError(f"{spec.kind} {spec.name!r} needs a dataset: pass --data STORE")


def check_capabilities(registry: Registry, spec: EvalSpec, run_dir: Path) -> None:
    """Refuse, before any work, a run whose architecture lacks what `spec` requires."""
    config = json.loads((run_dir / "config.json").read_text())
    arch = registry.architecture(config["architecture"])
    missing = [c for c in spec.requires if c not in arch.capabilities]
    if missing:
        able = [a for a in registry.names("architecture")
                if set(spec.requires) <= set(registry.architecture(a).capabilities)]
        raise ConfigError(
            f"{spec.kind} {spec.name!r} needs an architecture offering {', '.join(missing)}; "
            f"{arch.name!r} (the run's) offers {', '.join(arch.capabilities) or 'none'}; "
            f"architectures that do: {', '.join(able) or 'none'}")


def run_eval(name: str, run_dir: str | os.PathLike[str] | None,
             data: str | os.PathLike[str] | None = None, options: dict[str, Any] | None = None,
             out_dir: str | os.PathLike[str] | None = None, device: str = "auto",
             seed: int = 0, kind: str | None = None) -> EvalResult:
    """Run eval/visualization `name` (of `kind`, when given) and record its result."""
    from gantk.contract.registry import get_registry

    registry = get_registry()
    spec = registry.eval(name)
    if kind is not None and spec.kind != kind:
        same = ", ".join(s.name for s in registry.evals(kind)) or "none"
        raise ConfigError(f"{name!r} is a {spec.kind}, not a {kind}; {kind}s: {same}")
    missing = [o for o in spec.required_options if o not in (options or {})]
    if missing:
        wanted = " ".join(f"--{o} VALUE" for o in missing)
        raise ConfigError(f"{spec.kind} {name!r} needs {wanted} (as a plugin option, "
                          f"e.g. -o {missing[0]}=VALUE)")
    options = dict(options or {})
    # which checkpoint and which generator: the core loads the run, plugins never see these
    step, generator = options.pop("step", None), options.pop("generator", None)
    run_path = Path(run_dir) if run_dir is not None else None
    data_path = Path(data) if data is not None else None
    _check_needs(spec, run_path, data_path)
    options = validate_options(spec, spec.kind, options)
    if spec.requires and run_path is not None:
        check_capabilities(registry, spec, run_path)
    if out_dir is None:
        if run_path is None:
            raise ConfigError(f"{spec.name!r}: pass --out DIR (there is no run to write into)")
        out_dir = eval_dir(run_path, name)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; pass a directory (the {spec.kind} writes "
                          "result.json and its figures into it)")
    out.mkdir(parents=True, exist_ok=True)
    if device == "auto":
        from gantk.training.device import resolve_device

        device = str(resolve_device("auto"))
    ctx = EvalContext(run_dir=run_path, out_dir=out, device=device, options=options,
                      data=data_path, seed=seed, step=step, generator=generator)
    if run_path is not None and step is not None:
        from gantk.training.runs import run_checkpoint

        run_checkpoint(run_path, step)  # a missing checkpoint is refused before work
    result = spec.run(ctx)
    record = {"name": name, "kind": spec.kind, "run": str(run_path) if run_path else None,
              "data": str(data_path) if data_path else None, "options": ctx.options,
              "seed": seed, "step": step, "generator": generator,
              **{k: _jsonable(v) for k, v in asdict(result).items()}}
    if spec.baseline_metric and spec.baseline is not None:
        value = result.metrics.get(spec.baseline_metric)
        record["baseline"] = {"metric": spec.baseline_metric, "value": spec.baseline,
                              "higher_is_better": spec.higher_is_better,
                              "passed": None if value is None else (
                                  value >= spec.baseline if spec.higher_is_better
                                  else value <= spec.baseline)}
    write_text_atomic(out / "result.json", json.dumps(record, indent=2))
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value
