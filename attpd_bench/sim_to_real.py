"""Sim-to-real: a picker trained on synthetic regions, scored on real recordings through the suite's own input
path (:class:`~attpd_bench.data.recordings.RecordingsReader`, exactly what `attpd predict --waveforms` reads).

The real set is the 59 Hi-net traces of the 15 April 2016 M4.4 Kumamoto aftershock shipped in
``data/real/`` (JMA picks and analyst polarities; 29 labelled U or D). Scores are on those 29: accuracy (an
abstention counts as wrong), balanced accuracy (the mean of up and down recall, so "always up" scores 0.5),
coverage (the share predicted up or down) and sign accuracy on the covered ones. One event only: the 95 %
intervals resample traces within each class (a bootstrap of 2,000), not events; they say how much 29 traces
can tell, nothing about other earthquakes.

These traces are a check, never a training or tuning set: nothing in the suite is chosen by looking at them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench import metrics as M
from attpd_bench.data.labels import DOWN, N_CLASSES, UP
from attpd_bench.data.preprocess import model_windows
from attpd_bench.data.recordings import RecordingsReader, read_picks
from attpd_bench.errors import DataError
from attpd_bench.models import as_model_input, polarity_output

REAL_DATA = Path(__file__).resolve().parent.parent / "data" / "real"
KUMAMOTO = REAL_DATA / "kumamoto-2016-04-15"
N_BOOT = 2000


def kumamoto_reader() -> RecordingsReader:
    reader = RecordingsReader([KUMAMOTO / "waveforms"], read_picks(KUMAMOTO / "picks.csv"))
    reader.labels_required = False
    return reader


def windows_and_labels(reader: RecordingsReader) -> tuple[np.ndarray, pd.DataFrame]:
    """Every readable trace's stored window (n, 600) and its metadata (with the analyst's ``label``)."""
    chunks = [c for c in reader.chunks(4096) if len(c.waveforms)]
    if not chunks:
        raise DataError("no readable trace with a P pick among the recordings (`attpd predict` lists why each "
                        "was skipped)")
    return (np.concatenate([c.waveforms for c in chunks]),
            pd.concat([c.meta for c in chunks], ignore_index=True))


def probabilities(model, stored: np.ndarray) -> np.ndarray:
    out = model.predict(as_model_input(model_windows(stored), tuple(model.input_shape[1:])), verbose=0)
    return np.asarray(polarity_output(out), dtype=np.float64)


def score(labels: np.ndarray, predicted: np.ndarray, *, seed: int = 0, events=None) -> dict:
    """Scores on the traces labelled up or down, with bootstrap intervals by :func:`metrics.resample_counts`:
    events resampled where ``events`` name two or more (traces of one event are not independent), else traces
    resampled within each class (one event: the interval says how much its traces can tell)."""
    labelled = np.isin(labels, (UP, DOWN))
    y, p = labels[labelled].astype(np.int64), predicted[labelled].astype(np.int64)
    if len(y) == 0:
        raise DataError("no trace is labelled up or down: nothing to score against (the picks' polarity column)")
    events = None if events is None else np.asarray(events).astype(str)[labelled]
    if events is not None and len(np.unique(events)) >= 2:
        per_unit, _ = M.event_confusions(y, p, events)
        counts, unit = M.resample_counts(len(per_unit), N_BOOT, seed), "events"
    else:
        per_unit = np.zeros((len(y), N_CLASSES * N_CLASSES))
        per_unit[np.arange(len(y)), y * N_CLASSES + p] = 1
        counts, unit = M.resample_counts(len(y), N_BOOT, seed, strata=y), "traces within each class"
    replicates = (counts @ per_unit).reshape(-1, N_CLASSES, N_CLASSES)

    def figures(cm: np.ndarray) -> dict:
        values = M.metrics_from_confusion(cm)
        # the mean of up and down recall over the classes present
        balanced = M.nanmean_last(np.stack([values["recall_up"], values["recall_down"]], axis=-1))
        return {"accuracy": values["accuracy"], "balanced_accuracy": balanced,
                "coverage": values["sign_coverage"], "sign_accuracy": values["sign_accuracy"]}

    result = {"n": int(len(y)), "n_up": int(np.sum(y == UP)), "n_down": int(np.sum(y == DOWN)),
              "n_events": 1 if events is None else int(len(np.unique(events))), "resampled": unit,
              **{k: float(v) for k, v in figures(M.confusion(y, p)).items()}}
    draws = figures(replicates)
    for key in ("accuracy", "balanced_accuracy"):
        result[f"{key}_ci"] = (float(np.nanpercentile(draws[key], 2.5)), float(np.nanpercentile(draws[key], 97.5)))
    return result


def score_recordings(model, reader: RecordingsReader, *, seed: int = 0) -> dict:
    """A picker on a user's labelled recordings (the picks' polarity column): :func:`score`, events resampled
    where there are several."""
    reader.labels_required = False
    stored, meta = windows_and_labels(reader)
    predicted = probabilities(model, stored).argmax(axis=1)
    return score(meta["label"].to_numpy(), predicted, seed=seed, events=meta["source_id"].to_numpy())


def score_models(models: dict[str, object], *, seed: int = 0) -> pd.DataFrame:
    """One row per named model (a loaded model, or anything :func:`evaluate.load_model` takes)."""
    from attpd_bench.evaluate import load_model

    stored, meta = windows_and_labels(kumamoto_reader())
    labels = meta["label"].to_numpy()
    rows = []
    for name, model in models.items():
        model = load_model(model) if isinstance(model, str) else model
        rows.append({"picker": name, **score(labels, probabilities(model, stored).argmax(axis=1), seed=seed)})
    return pd.DataFrame(rows).set_index("picker")


def markdown(table: pd.DataFrame) -> str:
    """The table as the demo's summary and RESULTS.md print it."""
    def cell(row, key):
        lo, hi = row[f"{key}_ci"]
        return f"{row[key]:.2f} [{lo:.2f}, {hi:.2f}]"

    shown = pd.DataFrame({"balanced accuracy": [cell(r, "balanced_accuracy") for _, r in table.iterrows()],
                          "accuracy": [cell(r, "accuracy") for _, r in table.iterrows()],
                          "coverage": [f"{c:.2f}" for c in table["coverage"]],
                          "sign accuracy (covered)": [f"{s:.2f}" for s in table["sign_accuracy"]]},
                         index=table.index)
    n = table.iloc[0]
    return (f"Real Hi-net recordings of the 2016-04-15 M4.4 Kumamoto aftershock (`data/real/`): the "
            f"{n['n']} traces an analyst labelled ({n['n_up']} up, {n['n_down']} down), read by `attpd predict "
            f"--waveforms --picks`; 95 % intervals resample traces within each class (one event).\n\n"
            + shown.to_markdown())
