"""The audits scored: reversed stations and mislabelled picks on synthetic regions (against what they planted) and
on real data (HASH's Northridge example, against SCSN's own reversal list), with the mechanisms before and after.

Each step is the command a user runs (`attpd audit reversals`, `attpd audit labels`, `attpd train`, `attpd
mechanisms`), in a work folder under benchmarks/_work/audit/ with its own MLflow database; the tables are what
RESULTS.md quotes.

Issue 22's targets, each a table below: reversals (recall >= 0.9 at precision >= 0.9 among stations with >= 5
events) at each region's own reversal rate and at a higher one on more events (--high-rate, --high-events, so
there are enough reversed stations with enough events to count); label issues (precision at k = the number of
planted errors >= 0.7); the median Kagan angle of the events a reversed station recorded, after minus before the
found reversals, paired by event (95 % interval below 0); the
model retrained on the relabelled store against the original; Northridge against SCSN's list; and the time of
`attpd audit reversals` on each 400-event region (<= 5 min).

Usage: python benchmarks/audit.py [--events 100] [--regions ins,hinet,scsn,pnw] [--high-rate 0.05]
       [--high-events 400] [--cross-validate K] [--labels-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, WORK, markdown_table  # noqa: E402

ATTPD = [sys.executable, "-m", "attpd_bench.cli"]


def _attpd(*args: str, cwd: Path) -> None:
    done = subprocess.run([*ATTPD, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}"})
    if done.returncode != 0:
        raise RuntimeError(f"attpd {' '.join(args)}: {done.stdout[-1500:]}{done.stderr[-1500:]}")


def _metrics(cwd: Path, experiment: str, kind: str) -> dict:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], f"tags.kind = '{kind}'", order_by=["attributes.start_time DESC"])
    return runs[0].data.metrics


def reversals(region: str, events: int, *, folder: str, rate: float | None = None) -> tuple[dict, float, Path]:
    """A fresh synthetic region (seed 21; ``rate``: its share of reversed stations instead of the profile's) and
    the reversal audit of its analyst labels: the run's metrics, the audit's wall time in seconds, the folder."""
    work = WORK / "audit" / folder
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    extra = () if rate is None else ("--reversed-station-rate", str(rate))
    _attpd("data", "synth", "--region", region, "--n-events", str(events), "--out", "raw", "--seed", "21", *extra,
           cwd=work)
    _attpd("data", "prepare", "--dataset", region, "--source", "raw", "--out", "store", cwd=work)
    started = time.perf_counter()
    _attpd("audit", "reversals", "--store", "store", "--polarities", "analyst", "--out", "stations", cwd=work)
    seconds = time.perf_counter() - started
    return _metrics(work, f"attpd/audit/{region}", "audit-reversals"), seconds, work


def synthetic(region: str, events: int, *, cross_validate: int | None = None) -> dict:
    """One synthetic region: reversals from the analyst's labels, then label issues from first-motion and from a
    PD trained on the store's train split (on its test split), with the reversal audit's votes; with
    ``cross_validate`` K also from K retrainings of that PD's configuration (every split, out of fold)."""
    reversal, _, work = reversals(region, events, folder=region)
    _attpd("train", "--store", "store", "--model", "pd", "--epochs", "6", "--batch-size", "16", cwd=work)
    run = _latest_training_run(work, region)
    audits = [("first-motion", "first-motion", ("--split", "test")),
              ("pd (6 epochs)", f"runs:/{run}/model", ("--split", "test"))]
    if cross_validate:
        audits.append((f"pd (6 epochs), {cross_validate}-fold cross-validated, all splits", f"runs:/{run}/model",
                       ("--split", "all", "--cross-validate", str(cross_validate))))
    labels = {}
    for i, (name, uri, options) in enumerate(audits):
        _attpd("audit", "labels", "--store", "store", "--model-uri", uri, *options,
               "--reversal-audit", "stations", "--out", f"labels-{i}", "--overwrite", cwd=work)
        labels[name] = _metrics(work, f"attpd/audit/{region}", "audit-labels")
    return {"reversals": reversal, "labels": labels}


LABEL_COLUMNS = ["region", "model", "traces", "planted errors", "flagged", "precision", "recall", "precision@k",
                 "precision@10", "recall@50"]


def _label_row(region: str, name: str, m: dict) -> list:
    return [region, name, int(m["traces"]), int(m["label_errors"]), int(m["issues_flagged"]),
            _share(m, "issues_precision"), _share(m, "issues_recall"), _share(m, "precision_at_errors"),
            _share(m, "precision_at_10"), _share(m, "recall_at_50")]


def labels_only(events: int, regions: tuple[str, ...], cross_validate: int | None) -> str:
    """The label-issue table alone (``--labels-only``)."""
    rows = [_label_row(region, name, m) for region in regions
            for name, m in synthetic(region, events, cross_validate=cross_validate)["labels"].items()]
    return markdown_table(LABEL_COLUMNS, rows)


def retrained(region: str) -> dict:
    """Item 3's last step, on a region `synthetic` prepared: the train split audited by a model that never trained
    on it (first-motion), its flagged labels set to unknown in a copy of the store, PD trained on the copy as on
    the original, both scored on the same, untouched test split (paired by event) against its labels and against
    the true labels (the planted errors undone)."""
    import numpy as np

    from attpd_bench import metrics as M
    from attpd_bench.data.store import PolarityStore
    from attpd_bench.models import load_model
    from attpd_bench.focal.truth import aligned_truth, find_truth
    from attpd_bench.pipeline import predict_probabilities

    work = WORK / "audit" / region
    original = _latest_training_run(work, region)
    shutil.rmtree(work / "store-relabelled", ignore_errors=True)
    _attpd("audit", "labels", "--store", "store", "--model-uri", "first-motion", "--split", "train", "--out",
           "labels-train", "--relabel", "store-relabelled", "--relabel-to", "unknown", "--overwrite", cwd=work)
    flagged = _metrics(work, f"attpd/audit/{region}", "audit-labels")
    _attpd("train", "--store", "store-relabelled", "--model", "pd", "--epochs", "6", "--batch-size", "16", cwd=work)
    relabelled = _latest_training_run(work, region)
    store = PolarityStore(work / "store")
    meta = store.metadata.iloc[store.rows("test")].reset_index(drop=True)
    truth = aligned_truth(meta, find_truth(store.path))
    labels = store.labels("test").astype(int)
    # the planted errors undone: the label the analyst would have given (sign of the recording where it was a
    # call, unknown where it was not) is the recorded label where no error was planted
    wrong = truth["label_error"].to_numpy(bool)
    predictions = {}
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    for name, run in (("relabelled", relabelled), ("original", original)):
        model = load_model(f"runs:/{run}/model")
        predictions[name] = predict_probabilities(model, store, "test").argmax(axis=1)
    events = meta["source_id"].astype(str).to_numpy()
    against_labels = M.paired_bootstrap_difference(labels, predictions["relabelled"], predictions["original"], events)
    keep = ~wrong  # the traces whose test label is right
    against_truth = M.paired_bootstrap_difference(labels[keep], predictions["relabelled"][keep],
                                                  predictions["original"][keep], events[keep])
    return {"train_flagged": int(flagged["issues_flagged"]), "train_label_errors": int(flagged["label_errors"]),
            "train_recall": flagged.get("issues_recall", float("nan")), "against_labels": against_labels,
            "against_right_labels": against_truth, "n_test": len(labels), "n_right": int(keep.sum()),
            "n_events": len(np.unique(events))}


def _latest_training_run(work: Path, region: str) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(f"attpd/{region}")
    return client.search_runs([experiment.experiment_id], "tags.kind = 'training'",
                              order_by=["attributes.start_time DESC"])[0].info.run_id


def northridge() -> dict:
    """HASH's Northridge example: the reversal audit without SCSN's list, and the mechanisms with the list
    against the ones SKHASH's authors published."""
    work = WORK / "audit" / "northridge"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "examples").symlink_to(ROOT / "data" / "real" / "skhash-examples")
    _attpd("audit", "reversals", "--skhash-control", "examples/hash2/control_file.txt", "--out", "stations",
           cwd=work)
    found = pd.read_csv(work / "stations" / "reversals.csv")
    _attpd("mechanisms", "--skhash-control", "examples/hash2/control_file.txt", "--reference",
           "examples/hash2/OUT/out.txt", "--out", "mech", cwd=work)
    return {"audit": _metrics(work, "attpd/audit/hash2", "audit-reversals"),
            "found": sorted(code.split(".")[1] for code in found.loc[found["reversed"], "sta_code"]),
            "mechanisms": _metrics(work, "attpd/mechanisms/hash2", "mechanisms")}


def _share(metrics: dict, key: str) -> str:
    """A metric MLflow holds (a share), or "-" where it is undefined (nothing found: no precision)."""
    value = metrics.get(key)
    return "-" if value is None or value != value else f"{value:.2f}"


def _reversal_row(region: str, r: dict) -> list:
    paired = ("-" if "reversed_events_after_minus_before_n_paired" not in r else
              f"{r['reversed_events_after_minus_before_median_difference_deg']:+.1f} "
              f"[{r['reversed_events_after_minus_before_low_deg']:+.1f}, "
              f"{r['reversed_events_after_minus_before_high_deg']:+.1f}] on "
              f"{int(r['reversed_events_after_minus_before_n_paired'])}")
    return [region, int(r["stations_tested"]), int(r["true_reversed_stations"]), int(r["true_reversed_tested"]),
            int(r["stations_reversed"]), _share(r, "reversal_precision"), _share(r, "reversal_recall"),
            _share(r, "reversal_recall_tested"),
            f"{r.get('kagan_median_before_deg', float('nan')):.1f} -> {r.get('kagan_median_after_deg', float('nan')):.1f}",
            paired]


REVERSAL_COLUMNS = ["region", "stations tested", "planted reversed (with picks)", "planted, testable", "found",
                    "precision", "recall", "recall (testable)", "median Kagan before -> after",
                    "events with a reversed station: Kagan after - before [95 %] on n"]


def run(events: int = 100, regions: tuple[str, ...] = ("ins", "hinet", "scsn", "pnw"), high_rate: float = 0.05,
        high_events: int = 400, cross_validate: int | None = None) -> str:
    lines = []
    real = northridge()
    a = real["audit"]
    lines += ["Northridge (HASH's example 2: 24 events, 1,038 polarities), without SCSN's reversal list:", "",
              markdown_table(["stations tested", "found reversed", "SCSN-listed (active, tested)", "listed and found",
                              "found, not listed", "Kagan to list mechanisms: raw", "with found reversals"],
                             [[int(a["stations_tested"]), ", ".join(real["found"]), int(a["listed_active_tested"]),
                               int(a["found_on_list"]), int(a["found_not_on_list"]),
                               round(a["kagan_raw_vs_list_median_deg"], 1),
                               round(a["kagan_found_vs_list_median_deg"], 1)]]), "",
              f"`attpd mechanisms --skhash-control` with SCSN's list against SKHASH's published mechanisms: "
              f"median Kagan {real['mechanisms']['kagan_median_deg']:.1f} deg on "
              f"{int(real['mechanisms']['n_mechanisms'])} events.", ""]
    rows, label_rows = [], []
    for region in regions:
        found = synthetic(region, events, cross_validate=cross_validate)
        rows.append(_reversal_row(region, found["reversals"]))
        label_rows += [_label_row(region, name, m) for name, m in found["labels"].items()]
    high_rows, seconds = [], {}
    for region in regions:  # enough events that reversed stations reach --min-events decided polarities
        r, seconds[region], _ = reversals(region, high_events, folder=f"{region}-{high_events}-rate{high_rate:g}",
                                          rate=high_rate)
        high_rows.append(_reversal_row(region, r) + [int(r["polarities"]), f"{seconds[region] / 60:.1f}"])
    lines += [f"Synthetic regions ({events} events, seed 21), reversals from the analyst's labels (all splits), "
              "at each region's own reversal rate:", "", markdown_table(REVERSAL_COLUMNS, rows), "",
              f"{high_events} events per region with {high_rate:.0%} of the stations reversed (`data synth "
              f"--reversed-station-rate {high_rate:g}`), with the time of `attpd audit reversals` (target <= 5 min on "
              f"a 400-event region, leave-one-station-out):", "",
              markdown_table([*REVERSAL_COLUMNS, "picks", "audit min"], high_rows), "",
              "Label issues on the test split (cleanlab on out-of-sample probabilities, the reversal audit's votes; "
              "precision@k at k = the number of planted errors):",
              "", markdown_table(LABEL_COLUMNS, label_rows)]
    again = retrained(regions[0])
    fmt = lambda d: f"{d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"  # noqa: E731
    lines += ["", f"Retrained on the relabelled store ({regions[0]}): the train split audited by first-motion "
              f"(never trained on it), {again['train_flagged']} flagged labels (recall "
              f"{again['train_recall']:.2f} of {again['train_label_errors']} planted errors) set to unknown, PD "
              f"trained on the copy as on the original (6 epochs, batch 16), both on the same test split "
              f"({again['n_test']} traces, {again['n_events']} events):", "",
              markdown_table(["test labels", "macro-F1 relabelled - original [95 % paired event bootstrap]"],
                             [["as given", fmt(again["against_labels"])],
                              [f"right ones only ({again['n_right']})", fmt(again["against_right_labels"])]])]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--regions", default="ins,hinet,scsn,pnw")
    parser.add_argument("--high-rate", type=float, default=0.05)
    parser.add_argument("--high-events", type=int, default=400)
    parser.add_argument("--cross-validate", type=int, default=None,
                        help="also audit every split with K-fold cross-validated PD probabilities")
    parser.add_argument("--labels-only", action="store_true", help="only the label-issue table")
    options = parser.parse_args()
    regions = tuple(options.regions.split(","))
    if options.labels_only:
        print(labels_only(options.events, regions, options.cross_validate))
    else:
        print(run(options.events, regions, high_rate=options.high_rate, high_events=options.high_events,
                  cross_validate=options.cross_validate))
