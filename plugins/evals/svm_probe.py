"""`svm-probe`: the paper's L2-SVM feature probe (Tables 1 and 2) with baseline rows.

    gantk eval svm-probe --run RUN --data TRAIN_STORE -o test=TEST_STORE \
        [-o labels_per_class=100 -o draws=100 -o val_draws=10] [-o rows=dcgan,pixels,random,kmeans]
        [-o report=reports/table2.md]

`-o step=N` probes the checkpoint of step N (default: the latest). Without
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
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec
from gantk.errors import ConfigError

ROWS = {
    "dcgan": "DCGAN discriminator features",
    "random": "random discriminator (same architecture, untrained)",
    "pixels": "raw pixels",
    "kmeans": "k-means (Coates & Ng, 1 layer)",
}
KNOWN = ("test", "labels_per_class", "draws", "val_draws", "val_size", "cs", "rows",
         "batch_size", "standardize", "kmeans_k", "kmeans_patches", "kmeans_iterations",
         "bn_images", "report", "table", "keep_features", "grid", "fresh")


def _options(raw: dict[str, Any]) -> dict[str, Any]:
    opts = {k.replace("-", "_"): v for k, v in raw.items()}
    unknown = sorted(set(opts) - set(KNOWN))
    if unknown:
        raise ConfigError(f"svm-probe: unknown option(s) {', '.join(unknown)}; known: "
                          f"{', '.join(KNOWN)}")
    rows = opts.get("rows", "dcgan,pixels,random,kmeans")
    rows = rows.split(",") if isinstance(rows, str) else list(rows)
    bad = [r for r in rows if r not in ROWS]
    if bad:
        raise ConfigError(f"svm-probe: unknown row(s) {bad}; choose from {', '.join(ROWS)}")
    opts["rows"] = rows
    if "test" not in opts:
        raise ConfigError("svm-probe needs a labeled test store: pass -o test=STORE (e.g. "
                          "`gantk ingest fashion-mnist SRC DEST -o split=test`)")
    return opts


def _labeled(path: Path, what: str):
    from gantk.store import ImageStore

    store = ImageStore(path)
    labels = store.labels()
    if labels is None or (labels < 0).any():
        raise ConfigError(f"svm-probe: the {what} store {path} has no labels for every image; "
                          "ingest a labeled dataset (e.g. fashion-mnist, cifar10, svhn)")
    return store, labels


def run_probe(ctx: EvalContext) -> EvalResult:
    import numpy as np

    from gantk.atomic import write_text_atomic
    from gantk.plugins.evals.lib.tables import markdown_table
    from gantk.progress import console

    opts = _options(ctx.options)
    train, train_labels = _labeled(ctx.data, "training")
    test, test_labels = _labeled(Path(opts["test"]), "test")
    if (test.resolution, test.channels) != (train.resolution, train.channels):
        raise ConfigError(f"svm-probe: test store is {test.resolution}px x {test.channels} but "
                          f"the training store is {train.resolution}px x {train.channels}")
    rng = np.random.default_rng(ctx.seed)
    perm = rng.permutation(train.count)
    val_size = int(opts.get("val_size", min(10_000, train.count // 6)))
    val, pool = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    lpc = opts.get("labels_per_class")
    semisup = lpc not in (None, "all")
    started = time.perf_counter()

    def log(msg: str) -> None:
        console.print(f"[svm-probe {time.perf_counter() - started:6.0f}s] {msg}", markup=False)

    feats_dir = ctx.out_dir / "features"
    feats_dir.mkdir(parents=True, exist_ok=True)
    # Load once: a run still training may write a newer checkpoint meanwhile.
    run = ctx.load() if {"dcgan", "random"} & set(opts["rows"]) else None
    results = []
    for row in opts["rows"]:
        key = _row_key(row, ctx, opts, train, test, run)
        saved = ctx.out_dir / "rows" / f"{row}.json"
        if saved.is_file() and not opts.get("fresh"):
            kept = json.loads(saved.read_text())
            if kept.get("key") == key:
                log(f"{row}: reusing the finished row in {saved} (-o fresh=true recomputes)")
                results.append(kept["result"])
                continue
        t0 = time.perf_counter()
        extract = _extractor(row, ctx, run, train, pool, opts, log)
        log(f"{row}: extracting features of {train.count} + {test.count} images")
        ftrain = _extract(extract, train, feats_dir / f"{row}-train.npy", opts)
        ftest = _extract(extract, test, feats_dir / f"{row}-test.npy", opts)
        t1 = time.perf_counter()
        result = _protocol(semisup, opts, ftrain, train_labels, pool, val, ftest, test_labels,
                           ctx.seed, log, lpc)
        result.update(row=row, name=ROWS[row], extract_s=round(t1 - t0, 1),
                      svm_s=round(time.perf_counter() - t1, 1))
        if row == "dcgan":
            result.update(step=run.step, name=f"{ROWS[row]} (step {run.step})")
        log(f"{row}: test error {result['test_error']:.2f} (C={result['C']:g})")
        results.append(result)
        write_text_atomic(saved, json.dumps({"key": key, "result": result}, indent=1))
        del ftrain, ftest
        if not opts.get("keep_features"):
            for f in feats_dir.glob(f"{row}-*.npy"):
                f.unlink()
    table = opts.get("table", "table2" if semisup else "table1")
    md = markdown_table(results, _dataset_name(ctx.data, train), None if table == "none"
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
    if not any(feats_dir.iterdir()):
        feats_dir.rmdir()
    metrics = {f"{r['row']}_test_error": r["test_error"] for r in results}
    metrics.update({f"{r['row']}_test_ci": r["test_ci"] for r in results if "test_ci" in r})
    best = min(results, key=lambda r: r["test_error"])
    return EvalResult(metrics=metrics, files=files, summary=md.split("\n\n")[0] + "\n" + "\n".join(
        f"  {r['name']}: test error {r['test_error']:.2f}" for r in results)
        + f"\n  best row: {best['name']}")


PROTOCOL_OPTS = ("labels_per_class", "draws", "val_draws", "val_size", "cs", "standardize")
ROW_OPTS = {"dcgan": ("bn_images", "grid"), "random": ("bn_images", "grid"),
            "kmeans": ("kmeans_k", "kmeans_patches", "kmeans_iterations"), "pixels": ()}


def _row_key(row: str, ctx: EvalContext, opts: dict[str, Any], train, test, run) -> dict:
    """What a finished row's result depends on: reuse it only when all of this matches."""
    key = {"train": train.meta.get("fingerprint"), "test": test.meta.get("fingerprint"),
           "seed": ctx.seed}
    key.update({k: opts[k] for k in sorted(PROTOCOL_OPTS + ROW_OPTS[row]) if k in opts})
    if row == "dcgan":
        key["checkpoint"] = str(run.checkpoint)
    if row == "random":
        key["architecture"] = run.config.model_dump(mode="json")
    return key


def _dataset_name(path: Path, store) -> str:
    return store.meta.get("source") or Path(path).name


def _extract(extract, store, path: Path, opts: dict[str, Any]):
    import numpy as np

    from gantk.plugins.evals.lib.features import extract_to_disk
    from gantk.progress import progress_bar

    with progress_bar(f"features {path.stem}") as update:
        return extract_to_disk(extract, store, np.arange(store.count), path,
                               batch_size=int(opts.get("batch_size", 256)), progress=update)


def _extractor(row: str, ctx: EvalContext, run, train, pool, opts: dict[str, Any], log):
    import numpy as np

    from gantk.plugins.evals.lib import features as F

    if row == "pixels":
        return F.pixel_features
    if row == "kmeans":
        from gantk.plugins.evals.lib.kmeans import fit_kmeans_features

        log("k-means: sampling whitened patches and clustering")
        return fit_kmeans_features(train, pool, k=int(opts.get("kmeans_k", 1600)),
                                   n_patches=int(opts.get("kmeans_patches", 100_000)),
                                   iterations=int(opts.get("kmeans_iterations", 30)),
                                   seed=ctx.seed, log=log)
    discriminator = run.discriminator
    if row == "random":
        import torch

        from gantk.contract.registry import get_registry

        torch.manual_seed(ctx.seed)
        _, discriminator = get_registry().architecture(run.config.architecture).build(run.config)
        discriminator.to(ctx.device)
    n_bn = int(opts.get("bn_images", len(pool)))
    bn_rows = np.sort(np.random.default_rng(ctx.seed).permutation(pool)[:n_bn])
    from gantk.progress import progress_bar

    with progress_bar(f"{row}: BatchNorm population statistics") as update:
        F.recompute_batchnorm(discriminator, train, bn_rows, device=ctx.device, progress=update)
    return F.DiscriminatorFeatures(discriminator, int(opts.get("grid", 4)), ctx.device)


def _protocol(semisup, opts, ftrain, train_labels, pool, val, ftest, test_labels, seed, log,
              lpc):
    from gantk.plugins.evals.lib.protocols import PAPER_CS, full_protocol, semisup_protocol

    cs = tuple(float(c) for c in opts.get("cs", PAPER_CS))
    standardize = bool(opts.get("standardize", True))
    if semisup:
        return semisup_protocol(ftrain, train_labels, pool, val, ftest, test_labels,
                                labels_per_class=int(lpc), cs=cs,
                                val_draws=int(opts.get("val_draws", 10)),
                                test_draws=int(opts.get("draws", 100)), seed=seed,
                                standardize=standardize, log=log)
    return full_protocol(ftrain, train_labels, pool, val, ftest, test_labels, cs=cs,
                         standardize=standardize, log=log)


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="svm-probe",
        run=run_probe,
        needs=("model", "data"),
        required_options=("test",),
        description="the paper's L2-SVM probe on every D conv layer (max-pooled 4x4), with "
                    "raw-pixel, random-D and k-means rows; Tables 1/2 (-o labels_per_class=100)",
    ))
