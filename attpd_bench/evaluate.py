"""Evaluate a model on a store split: the full metric set with event-bootstrap intervals, logged to MLflow.

A model is given by URI: a run's model (``runs:/<run_id>/model`` or ``models:/m-...``), a registered model
(``models:/attpd-pd-scsn@champion``), a Keras file (``.keras`` / ``.h5``) or ``first-motion``, the baseline
that reads the sign of the first clear excursion after P (:mod:`attpd_bench.models.first_motion`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attpd_bench import metrics as M
from attpd_bench import plots, tracking
from attpd_bench.data.store import PolarityStore
from attpd_bench.models import WindowShifts, load_model, shifted_probabilities
from attpd_bench.pipeline import predict_probabilities
from attpd_bench.sim_to_real import score_recordings

INTERVAL_METRICS = ("accuracy", "macro_f1", "sign_accuracy", "f1_up", "f1_down", "f1_unknown")


@dataclass
class Evaluation:
    store: PolarityStore
    split: str
    labels: np.ndarray
    probabilities: np.ndarray
    report: dict
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    by_snr: list[dict] = field(default_factory=list)
    min_confidence: float = M.DEFAULT_MIN_CONFIDENCE
    shifts: WindowShifts | None = None  # test-time shifts: the probabilities are their mean
    spread: np.ndarray | None = None  # with shifts: per trace, the spread of p(up) - p(down) across them

    @property
    def predictions(self) -> np.ndarray:
        return M.decide(self.probabilities, self.min_confidence)

    @property
    def events(self) -> np.ndarray:
        return self.store.metadata["source_id"].to_numpy()[self.store.rows(self.split)]

    def as_dict(self) -> dict:
        clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
        return {"store": str(self.store.path), "dataset": self.store.dataset, "split": self.split,
                "fingerprint": self.store.fingerprint,
                "metrics": {k: clean(v) for k, v in self.report.items()},
                "intervals_95": {k: [clean(lo), clean(hi)] for k, (lo, hi) in self.intervals.items()},
                "accuracy_by_snr": [{k: clean(v) for k, v in row.items()} for row in self.by_snr]}


def evaluate_model(model, store: PolarityStore, split: str = "test", *, n_boot: int = 1000,
                   seed: int = 0, min_confidence: float = M.DEFAULT_MIN_CONFIDENCE,
                   shifts: WindowShifts | None = None) -> Evaluation:
    """The model on a store's split; an up or down below ``min_confidence`` counts as an abstention
    (:func:`metrics.decide`). ``shifts``: the mean probabilities over test-time shifts of each window
    (:func:`models.shifted_probabilities`), their spread kept."""
    rows = store.rows(split)
    if len(rows) == 0:
        from attpd_bench.errors import DataError

        raise DataError(f"{store.path}: the {split!r} split is empty")
    spread = None
    if shifts is not None and shifts.count:
        parts = [shifted_probabilities(model, chunk.waveforms, shifts) for chunk in store.iter_chunks(split)]
        probs, spread = np.concatenate([p for p, _ in parts]), np.concatenate([s for _, s in parts])
    else:
        probs = predict_probabilities(model, store, split)
    labels = store.labels(split)
    preds = M.decide(probs, min_confidence)
    events = store.metadata["source_id"].to_numpy()[rows]
    snr = store.metadata["trace_snr_db"].to_numpy(np.float64)[rows]
    intervals = M.bootstrap_intervals(labels, preds, events, INTERVAL_METRICS, n_boot=n_boot, seed=seed) \
        if n_boot > 0 else {}
    return Evaluation(store, split, labels, probs, M.classification_report(labels, preds), intervals,
                      M.accuracy_by_snr(labels, preds, snr), min_confidence, shifts, spread)


def log_evaluation(evaluation: Evaluation, model_uri: str, run_name: str | None = None) -> str:
    """One run in ``attpd/<dataset>`` holding the metrics, intervals, SNR table and confusion figure."""
    store = evaluation.store
    tags = tracking.standard_tags(model=None, dataset=store.dataset, store_fingerprint=store.fingerprint,
                                  seed=None, evaluated_model_uri=model_uri, kind="evaluation")
    with tracking.run(tracking.experiment_name("evaluate", store.dataset), run_name, tags) as log:
        log.log_params({"model_uri": model_uri, "split": evaluation.split,
                        "store": str(store.path.resolve())})
        if evaluation.spread is not None:
            log.log_params({"shifts": evaluation.shifts.count, "shift_samples": evaluation.shifts.max_samples})
            log.log_metrics({f"{evaluation.split}_p_spread_median": float(np.median(evaluation.spread))})
        log.log_store_input(store, context="evaluation")
        prefix = f"{evaluation.split}_"
        log.log_metrics({k: v for k, v in evaluation.report.items() if k not in ("confusion", "undefined")},
                        prefix=prefix)
        log.log_metrics({f"{prefix}{name}_ci_{side}": value for name, interval in evaluation.intervals.items()
                         for side, value in zip(("low", "high"), interval)})
        log.log_dict(evaluation.as_dict(), "evaluation.json")
        log.log_text(pd.DataFrame(evaluation.by_snr).to_csv(index=False), "accuracy_by_snr.csv")
        log.log_figure(plots.confusion_matrix_figure(evaluation.report["confusion"],
                                                     f"{store.dataset} {evaluation.split}"),
                       f"figures/confusion_{evaluation.split}.png")
        return log.run_id


def evaluate_recordings(model_uri: str, reader, dataset: str, *, seed: int = 0, run_name: str | None = None,
                        min_confidence: float = M.DEFAULT_MIN_CONFIDENCE) -> tuple[dict, str]:
    """A model on a user's labelled recordings (:func:`sim_to_real.score_recordings`: balanced accuracy,
    accuracy, coverage, sign accuracy, events resampled), one run in ``attpd/<dataset>`` with its risk-coverage
    curve; (scores, run id)."""
    scores, curve = score_recordings(load_model(model_uri), reader, seed=seed, min_confidence=min_confidence)
    tags = tracking.standard_tags(model=None, dataset=dataset, store_fingerprint=None, seed=seed,
                                  evaluated_model_uri=model_uri, kind="evaluation-recordings")
    with tracking.run(tracking.experiment_name("evaluate", dataset), run_name, tags) as log:
        log.log_params({"model_uri": model_uri, "recordings": str(reader), "intervals_resample": scores["resampled"],
                        "min_confidence": min_confidence})
        log.log_metrics({k: v for k, v in scores.items() if isinstance(v, (int, float))})
        log.log_metrics({f"{k}_ci_{side}": bound for k in ("accuracy", "balanced_accuracy")
                         for side, bound in zip(("low", "high"), scores[f"{k}_ci"])})
        log.log_dict(scores, "evaluation.json")
        log.log_figure(plots.risk_coverage_figure({model_uri: curve}, title=f"{model_uri} on {reader}"),
                       "figures/risk_coverage.png")
        return scores, log.run_id


def to_json(evaluation: Evaluation) -> str:
    return json.dumps(evaluation.as_dict(), indent=2)
