"""Metric code against scikit-learn, hand-computed matrices, the original code's definitions and degenerate cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from attpd_bench import metrics as M
from attpd_bench.data.labels import DOWN


def test_against_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    p[:200] = y[:200]
    r = M.classification_report(y, p)
    np.testing.assert_array_equal(r["confusion"], confusion_matrix(y, p, labels=[0, 1, 2]))
    prec, rec, f1, _ = precision_recall_fscore_support(y, p, labels=[0, 1, 2], zero_division=np.nan)
    for k, name in enumerate(("up", "down", "unknown")):
        assert r[f"precision_{name}"] == pytest.approx(prec[k])
        assert r[f"recall_{name}"] == pytest.approx(rec[k])
        assert r[f"f1_{name}"] == pytest.approx(f1[k])
    assert r["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert r["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))


def test_hand_computed_matrix():
    #            pred: U  D  K
    y = [0] * 6 + [1] * 4 + [2] * 5
    p = [0, 0, 0, 0, 1, 2] + [1, 1, 0, 2] + [2, 2, 2, 0, 0]
    r = M.classification_report(y, p)
    assert r["confusion"] == [[4, 1, 1], [1, 2, 1], [2, 0, 3]]
    assert r["accuracy"] == pytest.approx(9 / 15)
    assert r["precision_up"] == pytest.approx(4 / 7) and r["recall_up"] == pytest.approx(4 / 6)
    assert r["sign_accuracy"] == pytest.approx(6 / 8)  # U/D labelled and predicted U/D: 4+2 right of 8
    assert r["sign_coverage"] == pytest.approx(8 / 10)
    # original figures: Pre_U ignores the two unknown->up errors
    assert r["Pre_U"] == pytest.approx(4 / (4 + 1)) and r["Pre_D"] == pytest.approx(2 / (2 + 1))
    assert r["Pre_K"] == pytest.approx(3 / 5)
    assert (r["TP_U"], r["FP_U"], r["FFP_U"], r["FFP_D"], r["FP_K"]) == (4, 3, 1, 1, 2)


def _original_confusion(pred, true):
    """The original ``confusion_matrix`` of APP_PD_utils, rewritten line by line (its quantities only)."""
    tp = [sum(1 for i in range(len(pred)) if pred[i] == c and true[i] == c) for c in range(3)]
    pred_n = [sum(1 for x in pred if x == c) for c in range(3)]
    true_n = [sum(1 for x in true if x == c) for c in range(3)]
    fp = [sum(1 for i in range(len(pred)) if pred[i] == c and true[i] != c) for c in range(3)]
    ffp_up = sum(1 for i in range(len(pred)) if pred[i] == 0 and true[i] == 1)
    ffp_dn = sum(1 for i in range(len(pred)) if pred[i] == 1 and true[i] == 0)
    return {"Pre_U": tp[0] / (tp[0] + ffp_up), "Pre_D": tp[1] / (tp[1] + ffp_dn), "Pre_K": tp[2] / pred_n[2],
            "Re_U": tp[0] / true_n[0], "Re_D": tp[1] / true_n[1], "Re_K": tp[2] / true_n[2],
            "TP_U": tp[0], "TP_D": tp[1], "TP_K": tp[2], "FP_U": fp[0], "FP_D": fp[1], "FP_K": fp[2],
            "FFP_U": ffp_up, "FFP_D": ffp_dn}


def test_original_figures_reproduced():
    rng = np.random.default_rng(4)
    y, p = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    r = M.classification_report(y, p)
    for key, value in _original_confusion(list(p), list(y)).items():
        assert r[key] == pytest.approx(value), key


def test_degenerate_cases_give_nan_not_errors():
    # a class never predicted (down) and never present (unknown)
    r = M.classification_report([0, 0, 1, 1], [0, 0, 0, 0])
    assert math.isnan(r["precision_down"]) and r["recall_down"] == 0.0 and r["f1_down"] == 0.0
    assert math.isnan(r["precision_unknown"]) and math.isnan(r["recall_unknown"]) and math.isnan(r["f1_unknown"])
    assert math.isnan(r["Pre_K"]) and math.isnan(r["Re_K"])  # the original code crashes on these
    assert r["macro_f1"] == pytest.approx(f1_score([0, 0, 1, 1], [0, 0, 0, 0], average="macro"))
    assert "precision_unknown" in r["undefined"] and "accuracy" not in r["undefined"]
    # only unknown labels: sign accuracy undefined
    r = M.classification_report([2, 2], [2, 0])
    assert math.isnan(r["sign_accuracy"]) and math.isnan(r["Re_U"]) and r["accuracy"] == 0.5
    # empty input: everything undefined, nothing raised
    r = M.classification_report([], [])
    assert r["n"] == 0 and math.isnan(r["accuracy"])


def test_bootstrap_intervals():
    rng = np.random.default_rng(1)

    def sample(n_events):
        events = np.repeat(np.arange(n_events), 10)
        y = rng.integers(0, 3, len(events))
        p = np.where(rng.random(len(events)) < 0.7, y, rng.integers(0, 3, len(events)))
        return y, p, events

    y, p, e = sample(40)
    ci = M.bootstrap_intervals(y, p, e, n_boot=500, seed=3)
    point = M.classification_report(y, p)
    for key, (lo, hi) in ci.items():
        assert lo <= point[key] <= hi, key
    assert ci == M.bootstrap_intervals(y, p, e, n_boot=500, seed=3)
    assert ci != M.bootstrap_intervals(y, p, e, n_boot=500, seed=4)
    y2, p2, e2 = sample(1000)
    wide = ci["accuracy"][1] - ci["accuracy"][0]
    ci2 = M.bootstrap_intervals(y2, p2, e2, n_boot=500, seed=3)
    assert ci2["accuracy"][1] - ci2["accuracy"][0] < wide / 3


def test_paired_difference_and_mcnemar():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 600)
    events = np.arange(600) // 6
    good = np.where(rng.random(600) < 0.9, y, (y + 1) % 3)
    bad = np.where(rng.random(600) < 0.6, y, (y + 1) % 3)
    d = M.paired_bootstrap_difference(y, good, bad, events, "accuracy", n_boot=300)
    assert d["low"] <= d["difference"] <= d["high"] and d["low"] > 0
    same = M.paired_bootstrap_difference(y, good, good, events, "macro_f1", n_boot=100)
    assert same["difference"] == same["low"] == same["high"] == 0
    t = M.mcnemar(good == y, bad == y)
    assert t["p_value"] < 1e-6 and t["method"] == "chi2"
    assert M.mcnemar(good == y, good == y)["p_value"] == 1.0
    small = M.mcnemar([True, True, False], [False, False, False])
    assert small["method"] == "exact" and small["p_value"] == pytest.approx(0.5)


def test_accuracy_by_snr():
    rows = M.accuracy_by_snr([0, 1, 2, 0], [0, 0, 2, 0], [-5.0, 5.0, 25.0, np.nan])
    by = {r["snr_bin"]: r for r in rows}
    assert by["[-inf, 0)"]["accuracy"] == 1.0 and by["[0, 10)"]["accuracy"] == 0.0
    assert by["unknown"]["n"] == 1 and by["[10, 20)"]["n"] == 0 and math.isnan(by["[10, 20)"]["accuracy"])


def test_bootstrap_resamples_events_not_traces():
    """20 events of 50 traces, each event all right or all wrong: the traces are not independent, and the
    event bootstrap's interval is several times wider than a trace bootstrap's."""
    from attpd_bench.metrics import bootstrap_intervals

    events = np.repeat(np.arange(20), 50)
    y_true = np.zeros(1000, dtype=int)
    y_pred = np.where(events % 2 == 0, 0, 2)  # even events right, odd events wrong
    lo, hi = bootstrap_intervals(y_true, y_pred, events, ("accuracy",), n_boot=2000, seed=0)["accuracy"]
    rng = np.random.default_rng(0)
    by_trace = (y_pred == y_true)[rng.integers(0, 1000, size=(2000, 1000))].mean(axis=1)
    t_lo, t_hi = np.percentile(by_trace, [2.5, 97.5])
    assert lo < 0.5 < hi
    assert hi - lo > 4 * (t_hi - t_lo)
    assert 0.3 < hi - lo < 0.55  # an event binomial: 2 x 1.96 x sqrt(0.25 / 20) = 0.44


def test_one_bootstrap_engine_for_medians_and_strata():
    """Issue 22, item 5: the closure's median interval and sim-to-real's class-stratified interval use the engine
    of the event bootstrap. A median interval is the percentile of the medians of exactly the resamples that
    engine draws (checked by brute force), and a stratified draw keeps each stratum's size."""
    values = np.random.default_rng(3).normal(size=23)
    counts = M.resample_counts(len(values), 300, seed=5)
    medians = [np.median(np.repeat(values, c.astype(int))) for c in counts]
    np.testing.assert_allclose(M.median_interval(values, n_boot=300, seed=5), np.percentile(medians, [2.5, 97.5]))
    strata = np.r_[np.zeros(17), np.ones(12)]
    drawn = M.resample_counts(len(strata), 200, seed=1, strata=strata)
    assert (drawn[:, :17].sum(axis=1) == 17).all() and (drawn[:, 17:].sum(axis=1) == 12).all()
    assert len({tuple(row) for row in drawn}) > 150  # replicates differ


def test_sim_to_real_balanced_accuracy_resamples_within_each_class():
    """"Always up" scores a balanced accuracy of exactly 0.5 in every class-stratified replicate (an unstratified
    resample would move it), and the point figures are the confusion matrix's."""
    from attpd_bench.sim_to_real import score

    labels = np.r_[np.zeros(17), np.ones(12), np.full(4, 2)].astype(int)
    always_up = score(labels, np.zeros_like(labels))
    assert always_up["balanced_accuracy"] == 0.5 and always_up["balanced_accuracy_ci"] == (0.5, 0.5)
    assert always_up["accuracy"] == pytest.approx(17 / 29) and always_up["coverage"] == 1.0
    predicted = labels.copy()
    predicted[:3], predicted[20] = 1, 2  # three ups called down, one down not called
    scored = score(labels, predicted)
    assert scored["balanced_accuracy"] == pytest.approx((14 / 17 + 11 / 12) / 2)
    assert scored["sign_accuracy"] == pytest.approx(25 / 28) and scored["coverage"] == pytest.approx(28 / 29)
    low, high = scored["balanced_accuracy_ci"]
    assert low < scored["balanced_accuracy"] < high


def test_abstention_threshold_and_risk_coverage_curve():
    """Issue 36 item 4: an up / down below the threshold becomes unknown; the risk-coverage curve lists sign
    accuracy against coverage, most confident answers first, and its last point is the argmax decision."""
    from attpd_bench.metrics import decide, risk_coverage

    p = np.array([[0.9, 0.05, 0.05],   # up, confident, right
                  [0.6, 0.3, 0.1],     # up, unsure, wrong (a down)
                  [0.2, 0.7, 0.1],     # down, right
                  [0.1, 0.1, 0.8],     # unknown: abstains at every threshold
                  [0.5, 0.4, 0.1]])    # labelled unknown: not on the curve
    y = np.array([0, 1, 1, 0, 2])
    assert decide(p).tolist() == [0, 0, 1, 2, 0]
    assert decide(p, 0.65).tolist() == [0, 2, 1, 2, 2]
    curve = risk_coverage(y, p)
    assert np.allclose(curve["threshold"], [0.9, 0.7, 0.6])
    assert np.allclose(curve["coverage"], [0.25, 0.5, 0.75])
    assert np.allclose(curve["sign_accuracy"], [1.0, 1.0, 2 / 3])
    # balanced accuracy: (up recall + down recall) / 2, abstentions wrong
    assert np.allclose(curve["balanced_accuracy"], [0.25, 0.5, 0.5])
    with pytest.raises(ValueError, match="min-confidence"):
        decide(p, 1.5)


def test_balanced_accuracy_says_when_one_sign_has_no_trace():
    """Issue 38: with no trace labelled up, balanced accuracy is the down recall alone (1.000 for a picker that
    reads every down right); the table must say so rather than show 1.000 as if both signs were read."""
    from rich.console import Console

    from attpd_bench import tables
    from attpd_bench.sim_to_real import score

    labels = np.array([DOWN] * 6)
    result = score(labels, labels.copy(), events=np.array(list("aabbcc")))
    assert result["n_up"] == 0 and result["balanced_accuracy"] == 1.0
    console = Console(record=True, width=250)
    console.print(tables.recordings_scores(result, "first-motion on 6 picks"))
    text = console.export_text()
    assert "recall of down only: no trace is up" in text and "1.000" in text
