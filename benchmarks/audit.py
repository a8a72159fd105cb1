"""The audits scored: reversed stations and mislabelled picks on synthetic regions (against what they planted) and
on real data (HASH's Northridge example, against SCSN's own reversal list), with the mechanisms before and after.

Each step is the command a user runs (`attpd audit reversals`, `attpd audit labels`, `attpd train`, `attpd
mechanisms`), in a work folder under benchmarks/_work/audit/ with its own MLflow database; the tables are what
RESULTS.md quotes.

Usage: python benchmarks/audit.py [--events 100] [--regions pnw,scsn]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
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


def synthetic(region: str, events: int) -> dict:
    """One synthetic region: reversals from the analyst's labels, then label issues from first-motion and from a
    PD trained on the store's train split (on its test split), with the reversal audit's votes."""
    work = WORK / "audit" / region
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _attpd("data", "synth", "--region", region, "--n-events", str(events), "--out", "raw", "--seed", "21", cwd=work)
    _attpd("data", "prepare", "--dataset", region, "--source", "raw", "--out", "store", cwd=work)
    _attpd("audit", "reversals", "--store", "store", "--polarities", "analyst", "--out", "stations", cwd=work)
    reversal = _metrics(work, f"attpd/audit/{region}", "audit-reversals")
    _attpd("train", "--store", "store", "--model", "pd", "--epochs", "6", "--batch-size", "16", cwd=work)
    run = _latest_training_run(work, region)
    labels = {}
    for name, uri in (("first-motion", "first-motion"), ("pd (6 epochs)", f"runs:/{run}/model")):
        out = f"labels-{name.split()[0]}"
        _attpd("audit", "labels", "--store", "store", "--model-uri", uri, "--split", "test",
               "--reversal-audit", "stations", "--out", out, cwd=work)
        labels[name] = _metrics(work, f"attpd/audit/{region}", "audit-labels")
    return {"reversals": reversal, "labels": labels}


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


def run(events: int = 100, regions: tuple[str, ...] = ("pnw", "scsn")) -> str:
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
        found = synthetic(region, events)
        r = found["reversals"]
        rows.append([region, int(r["stations_tested"]), int(r["true_reversed_stations"]),
                     int(r["true_reversed_tested"]), int(r["stations_reversed"]),
                     _share(r, "reversal_precision"), _share(r, "reversal_recall"),
                     _share(r, "reversal_recall_tested"),
                     f"{r.get('kagan_median_before_deg', float('nan')):.1f} -> "
                     f"{r.get('kagan_median_after_deg', float('nan')):.1f}"])
        for name, m in found["labels"].items():
            label_rows.append([region, name, int(m["traces"]), int(m["label_errors"]), int(m["issues_flagged"]),
                               _share(m, "issues_precision"), _share(m, "issues_recall"),
                               _share(m, "precision_at_10"), _share(m, "recall_at_50")])
    lines += [f"Synthetic regions ({events} events, seed 21), reversals from the analyst's labels (all splits):", "",
              markdown_table(["region", "stations tested", "planted reversed (with picks)", "planted, testable",
                              "found", "precision", "recall", "recall (testable)", "median Kagan before -> after"],
                             rows), "",
              "Label issues on the test split (cleanlab on out-of-sample probabilities, the reversal audit's votes):",
              "", markdown_table(["region", "model", "traces", "planted errors", "flagged", "precision", "recall",
                                  "precision@10", "recall@50"], label_rows)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--regions", default="pnw,scsn")
    options = parser.parse_args()
    print(run(options.events, tuple(options.regions.split(","))))
