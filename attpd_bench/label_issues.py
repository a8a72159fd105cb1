"""Mislabelled picks: the traces whose analyst label is most likely wrong, by confident learning.

Confident learning (Northcutt, Jiang & Chuang 2021; ``cleanlab.filter.find_label_issues``) estimates, from
out-of-sample predicted probabilities, how often each given label stands for each true class, and flags the
traces where the model is confidently of another class than the label, as many as those rates imply. The
probabilities must be out-of-sample: a model scores only a split it did not train on (its dev or test split,
or any split of a store it never saw), else it has learned the errors it should find.

Where a mechanism exists, the event's other stations give independent evidence: the leave-one-station-out vote
of :mod:`focal.reversals` (the sign the mechanism of the event's other polarities predicts at this station) is
added to each flagged trace, and a label that the vote contradicts ranks first.

Ranked table (``label_issues.csv``): trace, event, station, label, suspected label, the model's probability of
the label and of the suspected class, the mechanism's vote where known, and the rank.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from attpd_bench.data.labels import CLASS_NAMES, DOWN, N_CLASSES, UNKNOWN, UP
from attpd_bench.errors import ConfigError
from attpd_bench.focal import reversals
from attpd_bench.focal.polarities import match_codes

RELABEL_TARGETS = ("suspected", "unknown")


def find(meta: pd.DataFrame, labels: np.ndarray, probabilities: np.ndarray,
         votes: pd.Series | None = None) -> pd.DataFrame:
    """The traces of ``meta`` whose label confident learning flags, most suspect first. ``votes``: the
    mechanism's leave-one-station-out vote (-1..1, up positive) per ``(event_id, sta_code)``, where known."""
    from cleanlab.filter import find_label_issues

    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    present = np.bincount(labels, minlength=N_CLASSES)
    if (present == 0).any():
        missing = [CLASS_NAMES[c] for c in np.flatnonzero(present == 0)]
        raise ConfigError(f"confident learning needs every class among the labels; none is {', '.join(missing)} "
                          f"(choose a larger split)")
    flagged = find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence",
                                filter_by="prune_by_noise_rate")
    codes = match_codes(meta).agg(".".join, axis=1).to_numpy()
    table = pd.DataFrame({
        "source_trace_name": meta["source_trace_name"].to_numpy()[flagged],
        "event_id": meta["source_id"].astype(str).to_numpy()[flagged],
        "sta_code": codes[flagged],
        "label": [CLASS_NAMES[c] for c in labels[flagged]],
        "suspected_label": [CLASS_NAMES[c] for c in probabilities[flagged].argmax(axis=1)],
        "p_label": probabilities[flagged, labels[flagged]].round(4),
        "p_suspected": probabilities[flagged].max(axis=1).round(4),
        "row": flagged})
    table["mechanism_vote"] = np.nan
    if votes is not None and len(votes):
        keys = pd.MultiIndex.from_arrays([table["event_id"], table["sta_code"]])
        table["mechanism_vote"] = votes.reindex(keys).to_numpy()
    label_sign = np.select([table["label"] == CLASS_NAMES[UP], table["label"] == CLASS_NAMES[DOWN]], [1.0, -1.0], 0.0)
    table["mechanism_contradicts"] = reversals.is_decisive(table["mechanism_vote"]) & (
        np.sign(table["mechanism_vote"]) * label_sign < 0)
    order = np.lexsort((np.arange(len(table)), ~table["mechanism_contradicts"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def relabelled(labels: np.ndarray, issues: pd.DataFrame, to: str) -> np.ndarray:
    """``labels`` with the flagged traces set to the suspected class (``to="suspected"``) or to unknown."""
    if to not in RELABEL_TARGETS:
        raise ConfigError(f"--relabel-to must be one of {', '.join(RELABEL_TARGETS)}, got {to!r}")
    new = np.array(labels, dtype=np.int8, copy=True)
    rows = issues["row"].to_numpy(np.int64)
    if to == "unknown":
        new[rows] = UNKNOWN
    else:
        new[rows] = [CLASS_NAMES.index(name) for name in issues["suspected_label"]]
    return new


def score(issues: pd.DataFrame, label_error: np.ndarray, *, ks: tuple[int, ...] = (10, 50)) -> dict:
    """Precision and recall at k of the ranked issues against the planted label errors of the split
    (``label_error``: one boolean per row of the split, indexed by ``issues["row"]``), at k = the number of
    planted errors, and of the whole list."""
    label_error = np.asarray(label_error, dtype=bool)
    hits = label_error[issues["row"].to_numpy(np.int64)]
    total = int(label_error.sum())
    scores = {"label_errors": total, "issues_flagged": len(issues),
              "issues_precision": float(hits.mean()) if len(hits) else math.nan,
              "issues_recall": float(hits.sum() / total) if total else math.nan}
    # precision at k = the number of planted errors (R-precision; a list shorter than k misses the rest): a
    # perfect ranking scores 1
    scores["precision_at_errors"] = float(hits[:total].sum() / total) if total else math.nan
    for k in ks:
        top = hits[:k]
        scores[f"precision_at_{k}"] = float(top.mean()) if len(top) else math.nan
        scores[f"recall_at_{k}"] = float(top.sum() / total) if total else math.nan
    return scores
