"""One probe row (a feature extractor through one L2-SVM protocol), cached per row in a
JSON file so a killed evaluation resumes, and the option and checkpoint helpers: shared by
`svm-probe` and `probe-curve`.

Rows: `dcgan` (a trained discriminator), `random` (the run's architecture, untrained),
`pixels`, `kmeans` (`kmeans_k` centroids) and `kmeans-F` (k-means with F = 4k features, e.g.
`kmeans-4800`, the paper's 1-layer k-means row, or `kmeans-7168`, the 32x32 D's count).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gantk.errors import ConfigError

NAMES = {
    "dcgan": "DCGAN discriminator features",
    "random": "random discriminator (same architecture, untrained)",
    "pixels": "raw pixels",
    "kmeans": "k-means (Coates & Ng, 1 layer)",
}
KMEANS_AT = re.compile(r"kmeans-(\d+)$")
PROTOCOL_OPTS = ("labels_per_class", "draws", "val_draws", "val_size", "cs", "standardize")
D_OPTS = ("bn_images", "grid")
KMEANS_OPTS = ("kmeans_patches", "kmeans_iterations")
Log = Callable[[str], None]


def check_options(raw: dict[str, Any], who: str) -> dict[str, Any]:
    """Options with dashes as underscores (their names, types and ranges were checked by
    the core against the eval's options model); the test store is required."""
    opts = {k.replace("-", "_"): v for k, v in raw.items()}
    if "test" not in opts:
        raise ConfigError(f"{who} needs a labeled test store: pass -o test=STORE (e.g. "
                          "`gantk ingest fashion-mnist SRC DEST -o split=test`)")
    return opts


def logger(who: str, started: float) -> Log:
    """Timestamped progress lines on the console (stderr)."""
    from gantk.progress import console

    def log(msg: str) -> None:
        console.print(f"[{who} {time.perf_counter() - started:6.0f}s] {msg}", markup=False)
    return log


def checkpoint_at(run_dir: Path, step: int) -> Path:
    """The checkpoint file of `step`, or one line naming the steps that are saved."""
    from gantk.training.checkpoint import checkpoint_path, list_checkpoints

    path = checkpoint_path(Path(run_dir), step)
    if not path.is_file():
        have = ", ".join(str(step_of(p)) for p in list_checkpoints(run_dir)) or "none"
        raise ConfigError(f"{run_dir} has no checkpoint at step {step}; steps saved: {have}")
    return path


def step_of(checkpoint: Path) -> int:
    return int(checkpoint.stem.split("-")[1])


def kmeans_centroids(row: str, opts: dict[str, Any]) -> int | None:
    """Centroids of a k-means row (`kmeans`: `kmeans_k`; `kmeans-F`: F / 4), else None."""
    if row == "kmeans":
        return int(opts.get("kmeans_k", 1600))
    m = KMEANS_AT.match(row)
    return int(m.group(1)) // 4 if m else None


def row_name(row: str, opts: dict[str, Any]) -> str:
    if (k := kmeans_centroids(row, opts)) is not None:
        return f"{NAMES['kmeans']}, {k} centroids"
    return NAMES[row]


def parse_rows(value: Any, who: str) -> list[str]:
    """Row names from `a,b,c` or a list; `kmeans-F` needs F divisible by 4 (four quadrants)."""
    rows = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    rows = [r.strip() for r in rows if r.strip()]
    for r in rows:
        m = KMEANS_AT.match(r)
        if r not in NAMES and not (m and int(m.group(1)) % 4 == 0 and int(m.group(1)) > 0):
            raise ConfigError(f"{who}: unknown row {r!r}; choose from {', '.join(NAMES)} or "
                              "kmeans-F (F features, a multiple of 4, e.g. kmeans-4800)")
    return rows


def labeled(path: Path, what: str, who: str):
    """An ImageStore whose every image has a label, and its labels."""
    from gantk.store import ImageStore

    store = ImageStore(path)
    labels = store.labels()
    if labels is None or (labels < 0).any():
        raise ConfigError(f"{who}: the {what} store {path} has no labels for every image; "
                          "ingest a labeled dataset (e.g. fashion-mnist, cifar10, svhn)")
    return store, labels


@dataclass
class ProbeData:
    """Everything a row needs besides its features: stores, labels, the seeded split of the
    training store into a validation set and the labeled pool, options, where to write."""

    train: Any
    train_labels: Any
    test: Any
    test_labels: Any
    pool: Any
    val: Any
    opts: dict[str, Any]
    seed: int
    device: str
    feats_dir: Path
    log: Log = field(default=lambda _: None)

    @property
    def semisup(self) -> bool:
        return self.opts.get("labels_per_class") not in (None, "all")


def prepare(data: Path, opts: dict[str, Any], seed: int, device: str, out_dir: Path,
            who: str, log: Log) -> ProbeData:
    """Open the training and test stores (`opts["test"]`) and split off the validation set."""
    import numpy as np

    train, train_labels = labeled(data, "training", who)
    test, test_labels = labeled(Path(opts["test"]), "test", who)
    if (test.resolution, test.channels) != (train.resolution, train.channels):
        raise ConfigError(f"{who}: test store is {test.resolution}px x {test.channels} but "
                          f"the training store is {train.resolution}px x {train.channels}")
    perm = np.random.default_rng(seed).permutation(train.count)
    val_size = int(opts.get("val_size", min(10_000, train.count // 6)))
    return ProbeData(train, train_labels, test, test_labels, np.sort(perm[val_size:]),
                     np.sort(perm[:val_size]), opts, seed, device, out_dir / "features", log)


def row_key(row: str, data: ProbeData, extra: dict[str, Any] | None = None) -> dict:
    """What a finished row's result depends on: reuse it only when all of this matches."""
    opts = data.opts
    key = {"train": data.train.meta.get("fingerprint"),
           "test": data.test.meta.get("fingerprint"), "seed": data.seed}
    own = D_OPTS if row in ("dcgan", "random") else KMEANS_OPTS if kmeans_centroids(
        row, opts) is not None else ()
    key.update({k: opts[k] for k in sorted(PROTOCOL_OPTS + own) if k in opts})
    if (k := kmeans_centroids(row, opts)) is not None:
        key["kmeans_k"] = k
    if row in ("dcgan", "random"):  # what the BatchNorm statistics are (older rows differ)
        key["batchnorm"] = {"images": len(bn_rows(data)), "drawn_from": "training store",
                            "batches": "weighted by size"}
    key.update(extra or {})
    return key


def cached_row(saved: Path, key: dict, data: ProbeData, compute: Callable[[], dict]) -> dict:
    """The result kept in `saved` when its key matches (and `fresh` is not set), else
    `compute()`, written atomically to `saved` before it is returned."""
    from gantk.atomic import write_text_atomic

    if saved.is_file() and not data.opts.get("fresh"):
        kept = json.loads(saved.read_text())
        if kept.get("key") == key:
            data.log(f"reusing the finished result in {saved} (-o fresh=true recomputes)")
            return kept["result"]
    result = compute()
    write_text_atomic(saved, json.dumps({"key": key, "result": result}, indent=1))
    return result


def probe_row(row: str, data: ProbeData, discriminator: Any = None) -> dict:
    """Extract the row's features (streamed to disk), run the protocol, clean up; the
    result carries `extract_s` (fitting k-means included, also as `fit_s`) and `svm_s`."""
    t0 = time.perf_counter()
    extract, fit_s = _extractor(row, data, discriminator)
    data.log(f"{row}: extracting features of {data.train.count} + {data.test.count} images")
    data.feats_dir.mkdir(parents=True, exist_ok=True)
    ftrain = _extract(extract, data.train, data.feats_dir / f"{row}-train.npy", data.opts)
    ftest = _extract(extract, data.test, data.feats_dir / f"{row}-test.npy", data.opts)
    t1 = time.perf_counter()
    result = _protocol(data, ftrain, ftest)
    result.update(row=row, name=row_name(row, data.opts), extract_s=round(t1 - t0, 1),
                  svm_s=round(time.perf_counter() - t1, 1))
    if fit_s is not None:
        result["fit_s"] = round(fit_s, 1)
    if row in ("dcgan", "random"):
        result["bn_images"] = len(bn_rows(data))
    data.log(f"{row}: test error {result['test_error']:.2f} (C={result['C']:g})")
    del ftrain, ftest
    if not data.opts.get("keep_features"):
        for f in data.feats_dir.glob(f"{row}-*.npy"):
            f.unlink()
        if data.feats_dir.is_dir() and not any(data.feats_dir.iterdir()):
            data.feats_dir.rmdir()
    return result


def bn_rows(data: ProbeData):
    """Training-store rows for BatchNorm population statistics: every training image by
    default (`bn_images=all`, streamed), or a seeded subset of `bn_images`."""
    import numpy as np

    n = data.opts.get("bn_images", "all")
    if n in ("all", None):
        return np.arange(data.train.count)
    perm = np.random.default_rng(data.seed).permutation(data.train.count)
    return np.sort(perm[:int(n)])


def random_discriminator(config: Any, seed: int, device: str) -> Any:
    """The run's architecture, freshly initialized with `seed`: the untrained baseline."""
    import torch

    from gantk.contract.registry import get_registry

    torch.manual_seed(seed)
    _, discriminator = get_registry().architecture(config.architecture).build(config)
    return discriminator.to(device)


def _extract(extract, store, path: Path, opts: dict[str, Any]):
    import numpy as np

    from gantk.plugins.evals.lib.features import extract_to_disk
    from gantk.progress import progress_bar

    with progress_bar(f"features {path.stem}") as update:
        return extract_to_disk(extract, store, np.arange(store.count), path,
                               batch_size=int(opts.get("batch_size", 256)), progress=update)


def _extractor(row: str, data: ProbeData, discriminator: Any):
    """The row's extractor and the seconds spent fitting it (k-means), or None."""
    from gantk.plugins.evals.lib import features as F

    opts = data.opts
    if row == "pixels":
        return F.pixel_features, None
    if (k := kmeans_centroids(row, opts)) is not None:
        from gantk.plugins.evals.lib.kmeans import fit_kmeans_features

        data.log(f"{row}: sampling whitened patches and clustering ({k} centroids)")
        t0 = time.perf_counter()
        extract = fit_kmeans_features(data.train, data.pool, k=k,
                                      n_patches=int(opts.get("kmeans_patches", 100_000)),
                                      iterations=int(opts.get("kmeans_iterations", 30)),
                                      seed=data.seed, log=data.log)
        return extract, time.perf_counter() - t0
    from gantk.progress import progress_bar

    with progress_bar(f"{row}: BatchNorm population statistics") as update:
        F.recompute_batchnorm(discriminator, data.train, bn_rows(data), device=data.device,
                              progress=update)
    return F.DiscriminatorFeatures(discriminator, int(opts.get("grid", 4)), data.device), None


def _protocol(data: ProbeData, ftrain, ftest) -> dict:
    from gantk.plugins.evals.lib.protocols import PAPER_CS, full_protocol, semisup_protocol

    opts = data.opts
    cs = tuple(float(c) for c in opts.get("cs", PAPER_CS))
    standardize = bool(opts.get("standardize", True))
    if data.semisup:
        return semisup_protocol(ftrain, data.train_labels, data.pool, data.val, ftest,
                                data.test_labels, labels_per_class=int(opts["labels_per_class"]),
                                cs=cs, val_draws=int(opts.get("val_draws", 10)),
                                test_draws=int(opts.get("draws", 100)), seed=data.seed,
                                standardize=standardize, log=data.log)
    return full_protocol(ftrain, data.train_labels, data.pool, data.val, ftest, data.test_labels,
                         cs=cs, standardize=standardize, log=data.log)
