"""What the commands print: the suite's results as rich tables, built here so that ``cli`` only parses and
delegates. Each function takes a result object or its dictionary and returns a ``rich`` renderable (or several);
the caller prints them. Numbers are formatted by :func:`fmt` (4 decimals; NaN is "undefined")."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Column, Table

if TYPE_CHECKING:  # a command's tables are built after its work: pandas is never imported here for them
    import pandas as pd

SCORE_KEYS = ("accuracy", "macro_f1", "sign_accuracy", "f1_up", "f1_down", "f1_unknown", "Pre_U", "Pre_D", "Pre_K",
              "Re_U", "Re_D", "Re_K", "n")


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "undefined" if value != value else f"{value:.4f}"
    return str(value)


def fields(mapping: dict, title: str) -> Table:
    """A two-column table of a result's fields (promotion decisions, mechanism and audit summaries)."""
    table = Table("field", "value", title=title)
    for key, value in mapping.items():
        table.add_row(key, fmt(value))
    return table


def skipped(counts: Counter, listed_in: Path) -> Table:
    table = Table("skipped because", "traces", title=f"{sum(counts.values())} traces skipped (listed in {listed_in})")
    for reason, n in counts.most_common():
        table.add_row(reason, str(n))
    return table


def store_summary(summary: dict, splits: tuple[str, ...]) -> Table:
    table = Table("split", "up", "down", "unknown", "traces", "events",
                  title=f"{summary['dataset']} store {summary['path']}")
    for split in splits:
        c = summary["traces"][split]
        table.add_row(split, str(c["up"]), str(c["down"]), str(c["unknown"]), str(sum(c.values())),
                      str(summary["events"][split]))
    return table


def scores(reports: dict[str, dict]) -> Table:
    """One column per report (a split, a model): the classification scores."""
    table = Table("metric", *reports)
    for key in SCORE_KEYS:
        table.add_row(key, *(fmt(r.get(key)) for r in reports.values()))
    return table


def evaluation(result) -> list[Table]:
    """An :class:`evaluate.Evaluation` beyond its scores: intervals, confusion matrix, accuracy by SNR."""
    intervals = Table("metric", "value", "95% interval (events resampled)")
    for key, (lo, hi) in result.intervals.items():
        intervals.add_row(key, fmt(result.report[key]), f"[{fmt(lo)}, {fmt(hi)}]")
    confusion = Table("label \\ predicted", "up", "down", "unknown", title="confusion matrix")
    for name, row in zip(("up", "down", "unknown"), result.report["confusion"]):
        confusion.add_row(name, *map(str, row))
    snr = Table("SNR (dB)", "traces", "accuracy", title="accuracy by SNR")
    for row in result.by_snr:
        snr.add_row(row["snr_bin"], str(row["n"]), fmt(row["accuracy"]))
    return [intervals, confusion, snr]


def recordings_scores(result: dict, title: str) -> Table:
    """`evaluate --waveforms`: scores against the analyst's up/down labels. Balanced accuracy is the mean recall
    of the signs present: where one sign has no trace it is that sign's recall alone, and the table says so."""
    table = Table("traces labelled up / down", "events", "balanced accuracy [95 %]", "accuracy [95 %]", "coverage",
                  "sign accuracy (covered)", title=title)

    def with_interval(key: str) -> str:
        low, high = result[key + "_ci"]
        return f"{result[key]:.3f} [{low:.3f}, {high:.3f}]"

    balanced = with_interval("balanced_accuracy")
    absent = [sign for sign in ("up", "down") if result[f"n_{sign}"] == 0]
    if absent:
        balanced += f" (recall of {'down' if absent == ['up'] else 'up'} only: no trace is {absent[0]})"
    table.add_row(f"{result['n']} ({result['n_up']} / {result['n_down']})", str(result["n_events"]), balanced,
                  with_interval("accuracy"), f"{result['coverage']:.3f}",
                  "undefined" if result["sign_accuracy"] != result["sign_accuracy"] else f"{result['sign_accuracy']:.3f}")
    return table


def best_trials(summary: dict) -> Table:
    # the run id whole (promote --run-id needs it): never cut with an ellipsis on a narrow terminal
    table = Table("trial", "value", Column("params", overflow="fold"),
                  Column("MLflow run", min_width=32, no_wrap=True), title=f"study {summary['study']}: best trials")
    for trial in summary["best"]:
        table.add_row(str(trial["number"]), f"{trial['value']:.4f}", json.dumps(trial["params"]),
                      str(trial["mlflow_run_id"]))
    return table


def reversal_stations(stations: pd.DataFrame) -> Table:
    """The stations of a reversal audit, the reversed ones first (at least ten rows)."""
    shown = stations.head(max(10, int(stations["reversed"].sum())))
    table = Table("station", "decided events", "disagree", "p", "q", "reversed",
                  title=f"stations by evidence of reversal ({len(stations)} stations)")
    for _, row in shown.iterrows():
        table.add_row(row["sta_code"], str(row["decided"]), str(row["disagreements"]), f"{row['p_value']:.2g}",
                      "-" if row["q_value"] != row["q_value"] else f"{row['q_value']:.2g}",
                      "yes" if row["reversed"] else "")
    return table


def label_issues(issues: pd.DataFrame, title: str, rows: int = 15) -> Table:
    table = Table("rank", "trace", "station", "label", "suspected", "p(label)", "mechanism vote", title=title)
    for _, row in issues.head(rows).iterrows():
        table.add_row(str(row["rank"]), str(row["source_trace_name"]), row["sta_code"], row["label"],
                      row["suspected_label"], f"{row['p_label']:.3f}",
                      "-" if row["mechanism_vote"] != row["mechanism_vote"] else f"{row['mechanism_vote']:+.2f}")
    return table
