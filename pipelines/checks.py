"""Asset checks: the invariants each stage must keep.

- a store's count matches the count recorded at materialization, and a random sample of
  its images decodes at the store's shape;
- a de-duplication removed some images but not most of them;
- a training run has only finite losses, its generator is not collapsed, and its final
  in-training FID is within the run config's `max_fid`;
- an evaluation reaches its registered baseline.

Checks on partitioned assets are partitioned too, so each result names the partition it
judged.
"""

import json
import math
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    PartitionsDefinition,
    asset_check,
)

from gantk.contract.specs import EvalSpec
from gantk.pipelines.metadata import latest_metadata

DECODE_SAMPLE = 16
# Mean per-pixel standard deviation across generated samples (images in [-1, 1]) below
# which the generator is taken as collapsed: every sample (nearly) the same image.
COLLAPSE_SPREAD = 0.02
# A de-dup that removes more than this fraction of a dataset is not finding near-duplicates.
MAX_DEDUP_RATE = 0.5

STORE_CHECK = "store_intact"
NO_NAN_CHECK = "no_nan"
COLLAPSE_CHECK = "not_collapsed"
DEDUP_CHECK = "dedup_rate_plausible"
BASELINE_CHECK = "above_baseline"
FID_CHECK = "fid_within"


def store_intact(path: Path, recorded_count: int, sample: int = DECODE_SAMPLE,
                 seed: int | None = None) -> AssetCheckResult:
    """The store holds `recorded_count` images, is complete, and a random sample decodes."""
    import numpy as np

    from gantk.errors import GantkError
    from gantk.store import ImageStore

    try:
        store = ImageStore(path)
        picks = np.random.default_rng(seed).choice(store.count, min(sample, store.count),
                                                   replace=False) if store.count else []
        images, _ = store.get_many(sorted(int(i) for i in picks))
    except (GantkError, ValueError, OSError) as exc:
        return AssetCheckResult(passed=False, description=f"{path}: {exc}")
    shape = (len(picks), store.resolution, store.resolution, store.channels)
    problems = []
    if store.count != recorded_count:
        problems.append(f"holds {store.count} images, {recorded_count} were recorded")
    if not store.meta.get("complete"):
        problems.append("is not marked complete (an interrupted write?)")
    if images.shape != shape:
        problems.append(f"decoded {images.shape}, expected {shape}")
    return AssetCheckResult(
        passed=not problems, description="; ".join(problems) or "count and sample ok",
        metadata={"count": store.count, "recorded_count": recorded_count,
                  "decoded": len(picks), "sample": json.dumps([int(i) for i in picks])})


def store_check(key: AssetKey) -> AssetChecksDefinition:
    """The store check for the asset `key` (its metadata carries `path` and `count`)."""

    @asset_check(asset=key, name=STORE_CHECK, blocking=True,
                 description="the store's count matches its metadata and a random sample "
                             "of images decodes")
    def _check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        recorded = latest_metadata(context.instance, key)
        return store_intact(Path(recorded["path"]), int(recorded["count"]))

    return _check


def dedup_rate(total: int, removed: int) -> AssetCheckResult:
    rate = removed / total if total else 0.0
    passed = 0 < rate <= MAX_DEDUP_RATE
    return AssetCheckResult(
        check_name=DEDUP_CHECK, passed=passed,
        description=f"removed {removed} of {total} ({rate:.2%}); plausible: more than 0, "
                    f"at most {MAX_DEDUP_RATE:.0%}",
        metadata={"rate": rate, "removed": removed, "total": total})


def training_check_specs(key: AssetKey,
                         partitions: PartitionsDefinition | None = None) -> list[AssetCheckSpec]:
    return [AssetCheckSpec(NO_NAN_CHECK, asset=key, partitions_def=partitions,
                           description="every logged loss and statistic is finite"),
            AssetCheckSpec(COLLAPSE_CHECK, asset=key, partitions_def=partitions,
                           description="generated samples are not all alike"),
            AssetCheckSpec(FID_CHECK, asset=key, partitions_def=partitions,
                           description="the final in-training FID is at most the run "
                                       "config's max_fid (passes when none is set)")]


def fid_within(run_dir: Path, max_fid: float | None) -> AssetCheckResult:
    """The last FID the trainer scored is at most `max_fid` (no threshold: nothing to judge)."""
    from gantk.pipelines.scores import final_scores, score_records

    if max_fid is None:
        return AssetCheckResult(check_name=FID_CHECK, passed=True,
                                description="no threshold set (run config max_fid)")
    fid = final_scores(score_records(run_dir)).get("fid")
    if fid is None:
        return AssetCheckResult(check_name=FID_CHECK, passed=False,
                                description=f"max_fid={max_fid} but the run scored no FID; "
                                            "schedule in-training scores (fid) in its config")
    return AssetCheckResult(
        check_name=FID_CHECK, passed=fid <= max_fid,
        description=f"final FID {fid:.4g} (threshold <= {max_fid:g})",
        metadata={"fid": fid, "max_fid": float(max_fid)})


def no_nan(run_dir: Path) -> AssetCheckResult:
    """Every value in the run's metrics.jsonl is finite."""
    path = run_dir / "metrics.jsonl"
    lines = [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
    bad = [rec["step"] for rec in lines
           if any(isinstance(v, float) and not math.isfinite(v) for v in rec.values())]
    return AssetCheckResult(
        check_name=NO_NAN_CHECK, passed=bool(lines) and not bad,
        description=(f"non-finite values at steps {bad[:5]}" if bad else
                     f"{len(lines)} metric records, all finite" if lines else
                     "no metrics were logged"),
        metadata={"records": len(lines), "non_finite": len(bad)})


def not_collapsed(run_dir: Path, n: int = 64, seed: int = 0) -> AssetCheckResult:
    """Samples of the trained generator differ: mean per-pixel std above COLLAPSE_SPREAD."""
    from gantk.training.runs import load_run
    from gantk.training.sampling import generate

    run = load_run(run_dir, device="cpu")
    images = generate(run.generator, run.sample_z(n, seed=seed))
    spread = float(images.float().std(dim=0).mean())
    return AssetCheckResult(
        check_name=COLLAPSE_CHECK, passed=spread > COLLAPSE_SPREAD,
        severity=AssetCheckSeverity.WARN,
        description=f"mean per-pixel std over {n} samples: {spread:.4f} "
                    f"(collapsed below {COLLAPSE_SPREAD})",
        metadata={"sample_spread": spread})


def baseline_spec(key: AssetKey, spec: EvalSpec,
                  partitions: PartitionsDefinition | None = None) -> list[AssetCheckSpec]:
    if spec.baseline_metric is None or spec.baseline is None:
        return []
    side = "at least" if spec.higher_is_better else "at most"
    return [AssetCheckSpec(BASELINE_CHECK, asset=key, partitions_def=partitions,
                           description=f"{spec.baseline_metric} {side} {spec.baseline}")]


def above_baseline(spec: EvalSpec, record: dict) -> AssetCheckResult:
    """Read the verdict `run_eval` recorded in result.json against the registered baseline."""
    verdict = record.get("baseline") or {}
    value = record.get("metrics", {}).get(spec.baseline_metric)
    if value is None or verdict.get("passed") is None:
        return AssetCheckResult(check_name=BASELINE_CHECK, passed=False,
                                description=f"{spec.name} reported no {spec.baseline_metric}")
    side = ">=" if spec.higher_is_better else "<="
    return AssetCheckResult(
        check_name=BASELINE_CHECK, passed=bool(verdict["passed"]),
        description=f"{spec.baseline_metric} = {value:.4g} (baseline {side} {spec.baseline})",
        metadata={"value": float(value), "baseline": float(spec.baseline)})
