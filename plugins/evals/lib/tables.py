"""Markdown tables shaped like the paper's, our rows beside its published figures."""

from __future__ import annotations

# Radford et al. 2015, Table 1 (CIFAR-10 accuracy, %) and Table 2 (SVHN 1000 labels, error %).
PUBLISHED = {
    "table1": {
        "title": "CIFAR-10 classification with a linear L2-SVM on unsupervised features "
                 "(paper Table 1)",
        "metric": "accuracy (%)",
        "rows": [
            ("1 Layer K-means", "80.6", "4800"),
            ("3 Layer K-means Learned RF", "82.0", ""),
            ("View Invariant K-means", "81.9", ""),
            ("Exemplar CNN", "84.3", ""),
            ("DCGAN (ours) + L2-SVM", "82.8 (+-0.1)", "28672"),
        ],
    },
    "table2": {
        "title": "Classification with 1000 labels, 100 per class (paper Table 2: SVHN)",
        "metric": "test error (%)",
        "rows": [
            ("KNN", "77.93", ""),
            ("TSVM", "66.55", ""),
            ("M1+M2", "36.02", ""),
            ("SWWAE without dropout", "27.83", ""),
            ("SWWAE with dropout", "23.56", ""),
            ("DCGAN (ours) + L2-SVM", "22.48", "7168"),
            ("Supervised CNN with the same architecture", "28.87 (validation)", ""),
        ],
    },
}


def _ours(row: dict, metric: str) -> str:
    if "accuracy" in metric and row.get("protocol") == "full":
        return f"{row['test_accuracy']:.2f}"
    if row.get("protocol") == "full":
        return f"{row['test_error']:.2f}"
    return f"{row['test_error']:.2f} +- {row['test_ci']:.2f}"


def run_time(row: dict) -> str:
    """Features (k-means fitting included) + SVM seconds, as `total (fit F)` for k-means."""
    if "extract_s" not in row:
        return ""
    total = f"{row['extract_s'] + row.get('svm_s', 0):.0f}"
    return f"{total} (k-means fit {row['fit_s']:.0f})" if "fit_s" in row else total


def markdown_table(rows: list[dict], dataset: str, table: str | None) -> str:
    """`rows`: our results (name, protocol result). `table`: "table1", "table2" or None."""
    protocol = rows[0]["protocol"] if rows else "semisup"
    metric = "accuracy (%)" if protocol == "full" else "test error (%)"
    lines = []
    if rows and protocol == "semisup":
        r = rows[0]
        lines.append(f"{dataset}: {r['labels_per_class']} labels per class; C by mean "
                     f"validation error over {r['val_draws']} draws; test error mean +- "
                     f"1.96 std over {r['draws']} draws.")
    elif rows:
        lines.append(f"{dataset}: all {rows[0]['train_size']} training labels; C on a held-out "
                     "split, refit on the whole training set.")
    lines += ["", f"| model | {metric} | C | features | run time (s) | source |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {_ours(r, metric)} | {r['C']:g} | {r['dims']} | "
                     f"{run_time(r)} | measured here ({dataset}) |")
    if table:
        pub = PUBLISHED[table]
        lines += ["", f"Published figures, for reference: {pub['title']}; {pub['metric']} as "
                  "printed in the paper, not measured here.", "",
                  f"| model | {pub['metric']} | features | source |", "|---|---|---|---|"]
        for name, value, dims in pub["rows"]:
            lines.append(f"| {name} | {value} | {dims} | published (Radford et al. 2015) |")
    return "\n".join(lines) + "\n"


def _cell(r: dict) -> str:
    return f"{r['test_error']:.2f} +- {r['test_ci']:.2f}"


def curve_table(points: list[dict], refs: list[dict], dataset: str) -> str:
    """The probe curve as Markdown: one line per checkpoint, the reference rows, and a
    closing paragraph that says where (if anywhere) the DCGAN features beat each reference."""
    first = (points or refs)[0]
    lines = [f"{dataset}: {first['labels_per_class']} labels per class; C by mean validation "
             f"error over {first['val_draws']} draws; test error mean +- 1.96 std over "
             f"{first['draws']} draws.", "",
             "| step | epoch | DCGAN D test error (%) | C | features | run time (s) |",
             "|---|---|---|---|---|---|"]
    for p in points:
        epoch = "" if p.get("epoch") is None else f"{p['epoch']:g}"
        lines.append(f"| {p['step']} | {epoch} | {_cell(p)} | {p['C']:g} | {p['dims']} | "
                     f"{run_time(p)} |")
    lines += ["", "| reference (flat line) | test error (%) | C | features | run time (s) |",
              "|---|---|---|---|---|"]
    for r in refs:
        lines.append(f"| {r['name']} | {_cell(r)} | {r['C']:g} | {r['dims']} | {run_time(r)} |")
    lines += ["", _verdict(points, refs)]
    return "\n".join(lines) + "\n"


def _verdict(points: list[dict], refs: list[dict]) -> str:
    """Plain words: lowest DCGAN error, and for each reference the steps that beat it."""
    if not points:
        return "No checkpoint probed yet."
    best = min(points, key=lambda p: p["test_error"])
    said = [f"Lowest DCGAN D error: {_cell(best)} at step {best['step']}."]
    for r in refs:
        wins = [p["step"] for p in points if p["test_error"] < r["test_error"]]
        clear = [p["step"] for p in points
                 if p["test_error"] + p["test_ci"] < r["test_error"] - r["test_ci"]]
        if not wins:
            said.append(f"The DCGAN features do not beat {r['name']} ({_cell(r)}, "
                        f"{r['dims']} features) at any probed step.")
        else:
            said.append(f"The DCGAN features beat {r['name']} ({_cell(r)}, {r['dims']} "
                        f"features) in mean at steps {', '.join(map(str, wins))}"
                        + (f", with non-overlapping intervals at {', '.join(map(str, clear))}."
                           if clear else "; the intervals overlap at every one of them."))
    return " ".join(said)
