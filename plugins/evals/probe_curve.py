"""`probe-curve`: the svm-probe's 1000-label protocol on every checkpoint of a run, so a run
reports probe error against training step, with the reference rows as flat lines.

    gantk eval probe-curve --run RUN --data TRAIN_STORE -o test=TEST_STORE \
        [-o steps=all|468,2340|every=2340] [-o refs=random,kmeans-4800[,kmeans-7168,pixels]] \
        [-o draws=20 -o val_draws=5 -o labels_per_class=100] \
        [-o report=reports/probe-curve.md -o figure=docs/figures/probe-curve.png]

The light variant of `svm-probe`: the same protocol (C from the paper's grid by mean
validation error, test error mean +- 1.96 std over draws) with fewer draws by default.
Each checkpoint's result lands in `steps/step-N.json` and each reference row's in
`refs/ROW.json` (computed once), so a killed curve continues where it stopped and a longer
run adds only its new checkpoints. Writes `curve.json`, `curve.md` and `curve.png`.

During training, `probe_live(ctx, discriminator, step)` probes the live discriminator (a
copy: its BatchNorm statistics are left alone) into the same per-step files.
"""

from __future__ import annotations

import copy
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec
from gantk.errors import ConfigError

LIGHT = {"labels_per_class": 100, "draws": 20, "val_draws": 5}
DEFAULT_REFS = "random,kmeans-4800"  # the untrained D and the paper's 1-layer k-means row
WHO = "probe-curve"


def _setup(ctx: EvalContext):
    """Checked options (light defaults), the opened stores and split, and the run config."""
    from gantk.plugins.evals.lib import probe_rows as P
    from gantk.training.runs import read_run_config

    opts = {**LIGHT, **P.check_options(ctx.options, WHO)}
    if opts["labels_per_class"] in (None, "all"):
        raise ConfigError(f"{WHO}: the curve uses the 1000-label protocol; pass "
                          "-o labels_per_class=K (100 for the paper's Table 2)")
    refs = opts.get("refs", DEFAULT_REFS)
    opts["refs"] = [] if refs in ("none", "", None) else P.parse_rows(refs, WHO)
    if "dcgan" in opts["refs"]:
        raise ConfigError(f"{WHO}: refs are the flat reference lines (random, pixels, kmeans, "
                          "kmeans-F); the dcgan curve is always drawn")
    data = P.prepare(ctx.data, opts, ctx.seed, ctx.device, ctx.out_dir, WHO,
                     P.logger(WHO, time.perf_counter()))
    return data, read_run_config(ctx.run_dir)


def _step_key(data, config, step: int) -> dict:
    from gantk.plugins.evals.lib import probe_rows as P

    return P.row_key("dcgan", data, {"step": step, "seed_of_run": config.seed,
                                     "architecture": config.architecture,
                                     "model": config.model_dump(mode="json")["model"]})


def _step_file(ctx: EvalContext, step: int) -> Path:
    return ctx.out_dir / "steps" / f"step-{step:08d}.json"


def _probe_step(ctx: EvalContext, data, config, step: int, discriminator) -> dict:
    """One point of the curve, cached in `steps/step-N.json`."""
    from gantk.plugins.evals.lib import probe_rows as P

    result = P.cached_row(_step_file(ctx, step), _step_key(data, config, step), data,
                          partial(P.probe_row, "dcgan", data, discriminator))
    return {**result, "step": step}


def selected_steps(run_dir: Path, opts: dict[str, Any]) -> list[int]:
    """Saved checkpoint steps named by `steps` (all | a,b,c) and `every` (multiples of N)."""
    from gantk.plugins.evals.lib.probe_rows import checkpoint_at, step_of
    from gantk.training.checkpoint import list_checkpoints

    saved = [step_of(p) for p in list_checkpoints(run_dir)]
    if not saved:
        raise ConfigError(f"{WHO}: {run_dir} has no checkpoints yet; train it with `gantk run`")
    wanted = opts.get("steps", "all")
    every = opts.get("every")
    if isinstance(wanted, str) and wanted.startswith("every="):  # -o steps=every=N
        wanted, every = "all", _int_or(wanted[6:])
    if wanted == "all":
        steps = saved
    else:
        raw = wanted.split(",") if isinstance(wanted, str) else (
            wanted if isinstance(wanted, list) else [wanted])
        try:
            steps = sorted({int(s) for s in raw})
        except ValueError:
            raise ConfigError(f"{WHO}: steps={wanted!r} is not `all` or a list of steps like "
                              "468,2340") from None
        for s in steps:
            checkpoint_at(run_dir, s)  # one line naming the saved steps
    if every is not None:
        if not isinstance(every, int) or every <= 0:
            raise ConfigError(f"{WHO}: every={every!r} must be a positive number of steps")
        steps = [s for s in steps if s % every == 0]
        if not steps:
            raise ConfigError(f"{WHO}: no saved checkpoint step is a multiple of every={every}; "
                              f"steps saved: {', '.join(map(str, saved))}")
    return steps


def _int_or(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


def epoch_steps(config: Any, opts: dict[str, Any]) -> float | None:
    """Steps per epoch for the x-axis: `epoch_steps`, else the run's steps / epochs."""
    if opts.get("epoch_steps"):
        return float(opts["epoch_steps"])
    if config.epochs:
        return config.steps / config.epochs
    return None


def _references(ctx: EvalContext, data, config) -> list[dict]:
    """The flat lines: each ref row computed once, cached in `refs/ROW.json`."""
    from gantk.plugins.evals.lib import probe_rows as P

    out = []
    for row in data.opts["refs"]:
        extra = {"architecture": config.model_dump(mode="json")} if row == "random" else {}
        compute = (partial(_random_row, data, config) if row == "random"
                   else partial(P.probe_row, row, data))
        out.append(P.cached_row(ctx.out_dir / "refs" / f"{row}.json",
                                P.row_key(row, data, extra), data, compute))
    return out


def _random_row(data, config) -> dict:
    from gantk.plugins.evals.lib import probe_rows as P

    return P.probe_row("random", data, P.random_discriminator(config, data.seed, data.device))


def _kept_points(ctx: EvalContext, data, config) -> dict[int, dict]:
    """Every finished point in `steps/` that these options produced (checkpoints since
    pruned and points probed during training included)."""
    points = {}
    for path in sorted((ctx.out_dir / "steps").glob("step-*.json")):
        at, kept = int(path.stem.split("-")[1]), json.loads(path.read_text())
        if kept.get("key") == _step_key(data, config, at):
            points[at] = {**kept["result"], "step": at}
    return points


def run_curve(ctx: EvalContext) -> EvalResult:
    """Every selected checkpoint through the probe (cached per step), then the outputs;
    with `steps=all` the curve also shows every other point already probed."""
    from gantk.training.checkpoint import checkpoint_path
    from gantk.training.runs import load_run

    data, config = _setup(ctx)
    kept = {} if data.opts.get("fresh") else _kept_points(ctx, data, config)
    steps = selected_steps(ctx.run_dir, data.opts)
    for step in (s for s in steps if s not in kept):
        data.log(f"checkpoint of step {step}")
        run = load_run(ctx.run_dir, device=ctx.device,
                       checkpoint=checkpoint_path(Path(ctx.run_dir), step))
        kept[step] = _probe_step(ctx, data, config, step, run.discriminator)
    every_point = data.opts.get("steps", "all") == "all" and data.opts.get("every") is None
    shown = sorted(kept) if every_point else steps
    return _write_outputs(ctx, data, config, [kept[s] for s in shown],
                          _references(ctx, data, config))


def probe_live(ctx: EvalContext, discriminator: Any, step: int) -> EvalResult:
    """The in-training face: probe `discriminator` as it is at `step` (a copy gets the
    population statistics), then redraw the curve from every step probed so far."""
    data, config = _setup(ctx)
    _probe_step(ctx, data, config, step, copy.deepcopy(discriminator))
    points = _kept_points(ctx, data, config)
    return _write_outputs(ctx, data, config, [points[s] for s in sorted(points)],
                          _references(ctx, data, config))


def _write_outputs(ctx: EvalContext, data, config, points: list[dict],
                   refs: list[dict]) -> EvalResult:
    from gantk.atomic import write_text_atomic
    from gantk.plugins.evals.lib.curve_plot import plot_curve
    from gantk.plugins.evals.lib.tables import curve_table

    per_epoch = epoch_steps(config, data.opts)
    for p in points:
        p["epoch"] = round(p["step"] / per_epoch, 2) if per_epoch else None
    dataset = data.train.meta.get("source") or Path(ctx.data).name
    md = curve_table(points, refs, dataset)
    png = ctx.out_dir / "curve.png"
    plot_curve(points, refs, png, f"{dataset}: L2-SVM probe, "
               f"{data.opts['labels_per_class']} labels per class", per_epoch is not None)
    write_text_atomic(ctx.out_dir / "curve.md", md)
    record = {"run": str(ctx.run_dir), "data": str(ctx.data), "test": str(data.opts["test"]),
              "seed": ctx.seed, "epoch_steps": per_epoch, "points": points, "refs": refs}
    write_text_atomic(ctx.out_dir / "curve.json", json.dumps(record, indent=2))
    files = {"table": ctx.out_dir / "curve.md", "curve": ctx.out_dir / "curve.json"}
    figures = {"probe-curve": png}
    if data.opts.get("report"):
        files["report"] = Path(data.opts["report"])
        write_text_atomic(files["report"], md)
    if data.opts.get("figure"):
        figures["figure"] = Path(data.opts["figure"])
        figures["figure"].parent.mkdir(parents=True, exist_ok=True)
        figures["figure"].write_bytes(png.read_bytes())
    best = min(points, key=lambda p: p["test_error"])
    metrics = {"dcgan_test_error_last": points[-1]["test_error"],
               "dcgan_test_error_best": best["test_error"], "dcgan_best_step": float(best["step"]),
               **{f"{r['row']}_test_error": r["test_error"] for r in refs}}
    return EvalResult(metrics=metrics, figures=figures, files=files,
                      summary=md.split("\n\n")[-1].strip())


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="probe-curve",
        run=run_curve,
        live=probe_live,
        needs=("model", "data"),
        required_options=("test",),
        requires=("features",),
        options=lazy("gantk.plugins.evals.lib.options:ProbeCurveOptions"),
        higher_is_better=False,
        description="the svm-probe's 1000-label protocol (fewer draws) on every checkpoint: "
                    "probe error vs step, random-D and k-means rows as flat lines; PNG + table",
    ))
