"""Polarity metrics from the 3x3 confusion matrix (rows = label, columns = prediction; 0 up, 1 down, 2 unknown).

Every metric is a function of the confusion matrix, vectorised over leading axes, so bootstrap replicates
(resampled by event) cost one matrix product. A metric whose denominator is zero is NaN (undefined), never a
division error; :func:`classification_report` lists those under ``undefined``.

Standard metrics: per-class precision / recall / F1, accuracy, macro-F1 (mean over the classes present or predicted,
as scikit-learn's ``f1_score(average="macro")``),
``sign_accuracy``: among traces labelled up or down *and* predicted up or down, the share with the right sign
(``sign_coverage`` is the share of up/down traces predicted up or down).

The original code's figures keep their names: ``Pre_U = TP_U / (TP_U + FFP_U)`` where ``FFP_U`` counts true
*down* predicted up, so unknown -> up errors do not lower it (likewise ``Pre_D``); ``Pre_K = TP_K / pred_K``;
``Re_*`` are standard recalls; ``TP_*``, ``FP_*`` (all false positives of the class), ``FFP_U``/``FFP_D``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from attpd_bench.data.labels import CLASS_LETTERS, CLASS_NAMES, DOWN, N_CLASSES, UNKNOWN, UP

SNR_BINS_DB = (-np.inf, 0.0, 10.0, 20.0, 30.0, np.inf)


def confusion(y_true, y_pred, weights=None) -> np.ndarray:
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    cells = np.bincount(y_true * N_CLASSES + y_pred, weights=weights, minlength=N_CLASSES * N_CLASSES)
    return cells.reshape(N_CLASSES, N_CLASSES)


def _div(num, den):
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def metrics_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """All metrics of (..., 3, 3) confusion matrices."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    true_n, pred_n = cm.sum(axis=-1), cm.sum(axis=-2)
    precision, recall = _div(tp, pred_n), _div(tp, true_n)
    # 2TP / (2TP + FP + FN): 0 when a present class is never found, NaN only when absent and never predicted
    f1 = _div(2 * tp, true_n + pred_n)
    total = cm.sum(axis=(-2, -1))
    sign_right = cm[..., 0, 0] + cm[..., 1, 1]
    sign_decided = cm[..., :2, :2].sum(axis=(-2, -1))
    out = {"accuracy": _div(tp.sum(axis=-1), total),
           "macro_f1": nanmean_last(f1),
           "sign_accuracy": _div(sign_right, sign_decided),
           "sign_coverage": _div(sign_decided, cm[..., :2, :].sum(axis=(-2, -1)))}
    for k, name in enumerate(CLASS_NAMES):
        out[f"precision_{name}"], out[f"recall_{name}"], out[f"f1_{name}"] = precision[..., k], recall[..., k], \
            f1[..., k]
    # the original code's figures
    ffp_u, ffp_d = cm[..., 1, 0], cm[..., 0, 1]
    out.update({"Pre_U": _div(tp[..., 0], tp[..., 0] + ffp_u), "Pre_D": _div(tp[..., 1], tp[..., 1] + ffp_d),
                "Pre_K": _div(tp[..., 2], pred_n[..., 2]),
                "Re_U": recall[..., 0], "Re_D": recall[..., 1], "Re_K": recall[..., 2]})
    for k, letter in enumerate(CLASS_LETTERS):
        out[f"TP_{letter}"] = tp[..., k]
        out[f"FP_{letter}"] = pred_n[..., k] - tp[..., k]
    out["FFP_U"], out["FFP_D"] = ffp_u, ffp_d
    return out


def nanmean_last(a: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the values that are defined; NaN where none is."""
    valid = ~np.isnan(a)
    return _div(np.where(valid, a, 0).sum(axis=-1), valid.sum(axis=-1))


COUNT_METRICS = tuple(f"{kind}_{c}" for kind in ("TP", "FP") for c in CLASS_LETTERS) + ("FFP_U", "FFP_D")


def classification_report(y_true, y_pred) -> dict:
    """Point metrics (floats; counts as ints) plus the confusion matrix and the list of undefined metrics."""
    cm = confusion(y_true, y_pred)
    values = metrics_from_confusion(cm)
    report = {k: (int(v) if k in COUNT_METRICS else float(v)) for k, v in values.items()}
    report["n"] = int(cm.sum())
    report["confusion"] = cm.astype(int).tolist()
    report["undefined"] = sorted(k for k, v in values.items() if np.isnan(v))
    return report


# ------------------------------------------------------------------------------------------- bootstrap
def event_confusions(y_true, y_pred, events) -> tuple[np.ndarray, np.ndarray]:
    """(E, 9) confusion counts per event."""
    _, event_index = np.unique(np.asarray(events).astype(str), return_inverse=True)
    cell = np.asarray(y_true, dtype=np.int64) * N_CLASSES + np.asarray(y_pred, dtype=np.int64)
    per_event = np.zeros((event_index.max() + 1, N_CLASSES * N_CLASSES))
    np.add.at(per_event, (event_index, cell), 1)
    return per_event, event_index


def resample_counts(n_units: int, n_boot: int, seed: int, strata=None) -> np.ndarray:
    """The suite's one bootstrap engine: (n_boot, n_units) how often each unit is drawn in each replicate, units
    drawn with replacement (an event: traces of one event are not independent; a trace where one event is all
    there is). With ``strata`` (one label per unit) each stratum is resampled within itself, keeping its size.
    Every interval of the suite is a percentile of statistics weighted by these counts."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.multinomial(n_units, np.full(n_units, 1 / n_units), size=n_boot).astype(np.float64)
    strata = np.asarray(strata)
    counts = np.zeros((n_boot, n_units))
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        counts[:, members] = rng.multinomial(len(members), np.full(len(members), 1 / len(members)), size=n_boot)
    return counts


def two_stage_counts(units, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_items) how often each item (a trace) is drawn when its units (events) are drawn with
    replacement and then, within each drawn copy of a unit, its items with replacement (a two-stage bootstrap,
    Davison & Hinkley 1997, 2.4): an interval from one event is a trace bootstrap, and two copies of one event
    are not mistaken for two independent events (their interval is no narrower than the traces allow)."""
    rng = np.random.default_rng(seed)
    keys, unit_of = np.unique(np.asarray(units).astype(str), return_inverse=True)
    copies = rng.multinomial(len(keys), np.full(len(keys), 1 / len(keys)), size=n_boot)  # (n_boot, n_units)
    counts = np.zeros((n_boot, len(unit_of)))
    for k in range(len(keys)):
        members = np.flatnonzero(unit_of == k)
        # the sum of m independent draws of n items is one multinomial draw of m n
        counts[:, members] = rng.multinomial(copies[:, k] * len(members), np.full(len(members), 1 / len(members)))
    return counts


def median_interval(values, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the median of ``values`` (one per unit, e.g. an event's Kagan angle), the units
    resampled by :func:`resample_counts`; NaN for no values."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    order = np.argsort(values)
    cumulative = np.cumsum(resample_counts(n, n_boot, seed)[:, order], axis=1)
    # the k-th smallest drawn value (0-based) is the first sorted value whose cumulative count exceeds k
    lower = values[order][(cumulative <= (n - 1) // 2).sum(axis=1)]
    upper = values[order][(cumulative <= n // 2).sum(axis=1)]
    medians = (lower + upper) / 2
    return (float(np.percentile(medians, (1 - level) / 2 * 100)),
            float(np.percentile(medians, (1 + level) / 2 * 100)))


def bootstrap_intervals(y_true, y_pred, events, metrics=("accuracy", "macro_f1", "sign_accuracy"),
                        n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile intervals with events resampled with replacement (traces of one event are not independent)."""
    per_event, _ = event_confusions(y_true, y_pred, events)
    cms = (resample_counts(len(per_event), n_boot, seed) @ per_event).reshape(n_boot, N_CLASSES, N_CLASSES)
    values = metrics_from_confusion(cms)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {m: (float(np.nanpercentile(values[m], lo)), float(np.nanpercentile(values[m], hi)))
            if np.isfinite(values[m]).any() else (math.nan, math.nan) for m in metrics}


def paired_bootstrap_difference(y_true, pred_a, pred_b, events, metric: str = "macro_f1", n_boot: int = 1000,
                                seed: int = 0, level: float = 0.95) -> dict:
    """metric(a) - metric(b) on the same traces, with a percentile interval from the same event resamples."""
    ea, _ = event_confusions(y_true, pred_a, events)
    eb, _ = event_confusions(y_true, pred_b, events)
    draws = resample_counts(len(ea), n_boot, seed)
    shape = (n_boot, N_CLASSES, N_CLASSES)
    diff = (metrics_from_confusion((draws @ ea).reshape(shape))[metric]
            - metrics_from_confusion((draws @ eb).reshape(shape))[metric])
    point = float(metrics_from_confusion(confusion(y_true, pred_a))[metric]
                  - metrics_from_confusion(confusion(y_true, pred_b))[metric])
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {"metric": metric, "difference": point, "low": float(np.nanpercentile(diff, lo)),
            "high": float(np.nanpercentile(diff, hi)), "n_boot": n_boot}


def mcnemar(correct_a, correct_b) -> dict:
    """McNemar's test on paired correctness: exact binomial when discordant pairs < 25, else chi2 (corrected)."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    if n == 0:
        return {"only_a": 0, "only_b": 0, "statistic": 0.0, "p_value": 1.0, "method": "none"}
    if n < 25:
        p = float(stats.binomtest(only_a, n, 0.5).pvalue)
        return {"only_a": only_a, "only_b": only_b, "statistic": float(min(only_a, only_b)), "p_value": p,
                "method": "exact"}
    chi2 = (abs(only_a - only_b) - 1) ** 2 / n
    return {"only_a": only_a, "only_b": only_b, "statistic": float(chi2), "p_value": float(stats.chi2.sf(chi2, 1)),
            "method": "chi2"}


def accuracy_by_snr(y_true, y_pred, snr_db, bins=SNR_BINS_DB) -> list[dict]:
    """Accuracy per SNR bin (traces without SNR in their own row)."""
    y_true, y_pred, snr = np.asarray(y_true), np.asarray(y_pred), np.asarray(snr_db, dtype=np.float64)
    rows = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        sel = (snr >= lo) & (snr < hi)
        rows.append({"snr_bin": f"[{lo:g}, {hi:g})", "n": int(sel.sum()),
                     "accuracy": float(np.mean(y_true[sel] == y_pred[sel])) if sel.any() else math.nan})
    unknown = np.isnan(snr)
    if unknown.any():
        rows.append({"snr_bin": "unknown", "n": int(unknown.sum()),
                     "accuracy": float(np.mean(y_true[unknown] == y_pred[unknown]))})
    return rows


# ------------------------------------------------------------------------------------------ abstention
#: The default abstention threshold of `predict` / `evaluate` (``--min-confidence``): 0, the class of largest
#: probability. Chosen on the dev real cases (benchmarks/RESULTS.md, "Risk and coverage"): there an abstention
#: counts as wrong and every threshold above 0 lowered the champions' balanced accuracy.
DEFAULT_MIN_CONFIDENCE = 0.0


def decide(probabilities, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> np.ndarray:
    """Labels from polarity probabilities (n, 3): the most probable class, except that an up or down whose
    probability is below ``min_confidence`` becomes unknown (the picker abstains)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"--min-confidence must lie between 0 and 1, got {min_confidence}")
    labels = p.argmax(axis=1)
    signed = labels != UNKNOWN
    labels[signed & (p[np.arange(len(p)), np.minimum(labels, 1)] < min_confidence)] = UNKNOWN
    return labels


def risk_coverage(y_true, probabilities) -> dict[str, np.ndarray]:
    """Sign accuracy against coverage on the traces labelled up or down as the abstention threshold moves from
    1 down to 0 (:func:`decide`): one point per trace it lets answer, most confident first. ``threshold[k]`` is
    the confidence of the k-th answer; ``balanced_accuracy`` counts an abstention as wrong."""
    y = np.asarray(y_true)
    p = np.asarray(probabilities, dtype=np.float64)
    keep = np.isin(y, (UP, DOWN))
    y, p = y[keep], p[keep]
    best = p.argmax(axis=1)
    answers = best != UNKNOWN
    confidence = np.where(answers, p[np.arange(len(p)), np.minimum(best, 1)], -np.inf)
    order = np.argsort(-confidence, kind="stable")
    order = order[np.isfinite(confidence[order])]
    right = (best[order] == y[order]).astype(float)
    k = np.arange(1, len(order) + 1)
    n_up, n_down = max(int(np.sum(y == UP)), 1), max(int(np.sum(y == DOWN)), 1)
    up_right = np.cumsum(right * (y[order] == UP)) / n_up
    down_right = np.cumsum(right * (y[order] == DOWN)) / n_down
    present = [m for m, n in ((up_right, np.sum(y == UP)), (down_right, np.sum(y == DOWN))) if n]
    return {"threshold": confidence[order], "coverage": k / max(len(y), 1),
            "sign_accuracy": np.cumsum(right) / k, "balanced_accuracy": np.mean(present, axis=0) if present
            else np.full(len(k), np.nan)}
