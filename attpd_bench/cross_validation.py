"""Cross-validated, out-of-fold probabilities: every trace of a store scored by a model that never saw its event.

Confident learning needs out-of-sample probabilities for the traces it audits. A model trained on a store can
only give them on its dev and test splits, a fifth of the store; the train split, where most label errors sit,
stays unaudited. Cross-validation (as cleanlab's own ``estimate_cv_predicted_probabilities`` does with a
scikit-learn estimator) trains K models instead: the store's events fall into K folds, stratified by label and
grouped by event (scikit-learn's ``StratifiedGroupKFold``), and each fold is scored by a model trained on the
other K-1 folds, of which 10 % of the events are carved off for early stopping. No event is in the training or
early-stopping data of the model that scores it.

The folds are in-memory views of the store (:meth:`PolarityStore.with_split`): nothing is copied or written.
The K models are not kept; their held-out scores are returned, for the caller to log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from attpd_bench import metrics as M
from attpd_bench.data.labels import N_CLASSES
from attpd_bench.data.store import PolarityStore, event_split
from attpd_bench.errors import ConfigError
from attpd_bench.settings import TrainConfig

DEV_FRACTION = 0.1  # of each fold's training events, for early stopping (the store's own dev share)


def fold_splits(source_ids, labels, *, folds: int, seed: int) -> list[np.ndarray]:
    """For each of ``folds`` folds a split per trace: the fold's events ``test``, the other events ``train``
    and ``dev`` (``DEV_FRACTION`` of them). Every trace is ``test`` in exactly one fold; folds are stratified by
    label and grouped by event, and depend only on ``seed`` and the data."""
    from sklearn.model_selection import StratifiedGroupKFold

    source_ids = np.asarray(source_ids).astype(str)
    n_events = len(np.unique(source_ids))
    if folds < 2:
        raise ConfigError(f"--cross-validate needs at least 2 folds, got {folds}")
    if n_events < folds:
        raise ConfigError(f"--cross-validate {folds} needs at least {folds} events; the store has {n_events}")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = []
    for rest, held_out in splitter.split(np.zeros(len(source_ids)), np.asarray(labels), groups=source_ids):
        split = np.empty(len(source_ids), dtype=object)
        split[held_out] = "test"
        split[rest] = event_split(source_ids[rest], seed, (1 - DEV_FRACTION, DEV_FRACTION, 0.0))
        if not (split == "train").any():
            raise ConfigError(f"--cross-validate {folds} leaves a fold no event to train on beside the one it "
                              f"stops early on; the store has {n_events} events: choose fewer folds")
        splits.append(split)
    return splits


@dataclass
class CrossValidation:
    labels: np.ndarray  # (n,) the store's labels
    probabilities: np.ndarray  # (n, 3) in store order, each row from the model of the trace's fold
    scores: list[dict]  # per fold: its sizes, held-out macro-F1, epochs

    @property
    def macro_f1(self) -> float:
        """Macro-F1 of the out-of-fold predictions over the whole store."""
        return float(M.classification_report(self.labels, self.probabilities.argmax(axis=1))["macro_f1"])


def store_folds(store: PolarityStore, *, folds: int, seed: int) -> list[np.ndarray]:
    """:func:`fold_splits` of a store's events and labels."""
    return fold_splits(store.metadata["source_id"], store.labels(), folds=folds, seed=seed)


def out_of_fold_probabilities(store: PolarityStore, config: TrainConfig, splits: list[np.ndarray], *,
                              on_fold: Callable[[dict], None] | None = None) -> CrossValidation:
    """Train ``config`` once per fold of ``splits`` (:func:`store_folds`) and score the fold's held-out
    (``test``) traces with it."""
    from attpd_bench.pipeline import predict_probabilities
    from attpd_bench.train import fit

    config = config.resolved()
    labels = store.labels()
    folds = len(splits)
    probabilities = np.full((len(store), N_CLASSES), np.nan, dtype=np.float32)
    scores = []
    for k, split in enumerate(splits):
        view = store.with_split(split)
        result = fit(view, config, label=f"fold {k + 1}/{folds}")
        held_out = view.rows("test")
        probabilities[held_out] = predict_probabilities(result.model, view, "test")
        report = M.classification_report(labels[held_out], probabilities[held_out].argmax(axis=1))
        scores.append({"fold": k, "n_train": len(view.rows("train")), "n_dev": len(view.rows("dev")),
                       "n_held_out": len(held_out), "held_out_macro_f1": float(report["macro_f1"]),
                       "best_epoch": result.best_epoch + 1, "epochs_run": result.epochs_run})
        if on_fold is not None:
            on_fold(scores[-1])
    return CrossValidation(labels, probabilities, scores)
