"""`svm-probe`: the paper's L2-SVM feature probe (Tables 1 and 2) with baseline rows.

    gantk eval svm-probe --run RUN --data TRAIN_STORE -o test=TEST_STORE \
        [-o labels_per_class=100 -o draws=100 -o val_draws=10] [-o rows=dcgan,pixels,random,kmeans]
        [-o report=reports/table2.md]

Rows: `dcgan`, `pixels`, `random`, `kmeans` (`kmeans_k` centroids) and `kmeans-F` (F
features: `kmeans-4800` is the paper's 1-layer k-means row); BatchNorm statistics over
every training image (`bn_images=N` for a subset). `-o step=N` probes the checkpoint of
step N (default: the latest); `probe-curve` probes them all. Without
`labels_per_class` it runs the CIFAR-10 protocol (all training labels, Table 1);
with it the SVHN 1000-label protocol (Table 2). Writes `probe.json` and `table.md` into
the eval's directory (and `report`, when given); features are streamed into
memory-mapped files under `features/` and deleted afterwards (`keep_features=true` keeps them).
Each finished row is kept in `rows/ROW.json` and reused by a later call with the same data,
options and checkpoint (so a killed evaluation resumes; `fresh=true` recomputes).
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec


def run_probe(ctx: EvalContext) -> EvalResult:
    from gantk.atomic import write_text_atomic
    from gantk.plugins.evals.lib import probe_rows as P
    from gantk.plugins.evals.lib.tables import markdown_table

    opts = P.check_options(ctx.options, "svm-probe")
    opts["rows"] = P.parse_rows(opts.get("rows", "dcgan,pixels,random,kmeans"), "svm-probe")
    started = time.perf_counter()
    data = P.prepare(ctx.data, opts, ctx.seed, ctx.device, ctx.out_dir, "svm-probe",
                     P.logger("svm-probe", started))
    # Load once: a run still training may write a newer checkpoint meanwhile.
    run = ctx.load() if {"dcgan", "random"} & set(opts["rows"]) else None
    results = []
    for row in opts["rows"]:
        extra = ({"checkpoint": str(run.checkpoint)} if row == "dcgan" else
                 {"architecture": run.config.model_dump(mode="json")} if row == "random"
                 else {})
        result = P.cached_row(ctx.out_dir / "rows" / f"{row}.json", P.row_key(row, data, extra),
                              data, partial(_compute, row, data, run, ctx))
        if row == "dcgan":
            result.update(step=run.step, name=f"{P.NAMES[row]} (step {run.step})")
        results.append(result)
    table = opts.get("table", "table2" if data.semisup else "table1")
    md = markdown_table(results, _dataset_name(ctx.data, data.train), None if table == "none"
                        else table)
    write_text_atomic(ctx.out_dir / "table.md", md)
    write_text_atomic(ctx.out_dir / "probe.json", json.dumps(
        {"data": str(ctx.data), "test": str(opts["test"]), "run": str(ctx.run_dir),
         "seed": ctx.seed, "wall_s": round(time.perf_counter() - started, 1),
         "rows": results}, indent=2))
    files = {"table": ctx.out_dir / "table.md", "probe": ctx.out_dir / "probe.json"}
    if opts.get("report"):
        report = Path(opts["report"])
        write_text_atomic(report, md)
        files["report"] = report
    metrics = {f"{r['row']}_test_error": r["test_error"] for r in results}
    metrics.update({f"{r['row']}_test_ci": r["test_ci"] for r in results if "test_ci" in r})
    best = min(results, key=lambda r: r["test_error"])
    return EvalResult(metrics=metrics, files=files, summary=md.split("\n\n")[0] + "\n" + "\n".join(
        f"  {r['name']}: test error {r['test_error']:.2f}" for r in results)
        + f"\n  best row: {best['name']}")


def _compute(row: str, data, run, ctx: EvalContext) -> dict:
    """Probe one row; the discriminator rows get theirs (the random one built only now)."""
    from gantk.plugins.evals.lib import probe_rows as P

    D = (run.discriminator if row == "dcgan" else
         P.random_discriminator(run.config, ctx.seed, ctx.device) if row == "random" else None)
    return P.probe_row(row, data, D)


def _load(ctx: EvalContext, step: Any):
    """The run at checkpoint `step` (default: the latest)."""
    if step is None:
        return ctx.load()
    from gantk.plugins.evals.lib.probe_rows import checkpoint_at
    from gantk.training.runs import load_run

    return load_run(ctx.run_dir, device=ctx.device, checkpoint=checkpoint_at(ctx.run_dir,
                                                                             int(step)))


def _dataset_name(path: Path, store) -> str:
    return store.meta.get("source") or Path(path).name


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="svm-probe",
        run=run_probe,
        needs=("model", "data"),
        required_options=("test",),
        requires=("features",),
        options=lazy("gantk.plugins.evals.lib.options:SvmProbeOptions"),
        description="the paper's L2-SVM probe on every D conv layer (max-pooled 4x4), with "
                    "raw-pixel, random-D and k-means rows; Tables 1/2 (-o labels_per_class=100)",
    ))
