"""Sim-to-real: a picker trained on synthetic regions, scored on real recordings through the suite's own input
path (:class:`~attpd_bench.data.recordings.RecordingsReader`, exactly what `attpd predict --waveforms` reads).

A *real case* is a folder holding ``waveforms/`` (anything the recordings reader reads: SAC, miniSEED, ...) and
``picks.csv`` (``event_id, station, p_time, polarity``; or ``picks.xml``, QuakeML), with an optional
``catalog.csv`` (``event_id, origin_time, latitude, longitude, depth_km, magnitude``). :func:`real_cases` finds
every case in a folder (``data/real/`` by default, where the project ships the 59 Hi-net traces of the 15 April
2016 M4.4 Kumamoto aftershock: JMA picks and analyst polarities, 29 labelled U or D), so a user's or a
reviewer's own labelled events are scored beside it by dropping them there (or `attpd demo --real-data DIR`).

Scores are on the traces labelled U or D: accuracy (an abstention counts as wrong), balanced accuracy (the mean
of up and down recall, so "always up" scores 0.5), coverage (the share predicted up or down) and sign accuracy
on the covered ones. 95 % intervals resample events where there are two or more (traces of one event are not
independent), else traces within each class (a bootstrap of 2,000): one event's interval says how much its
traces can tell, nothing about other earthquakes. Several cases are also scored pooled, events resampled.

These traces are a check, never a training or tuning set: nothing in the suite is chosen by looking at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench import metrics as M
from attpd_bench.data.labels import DOWN, N_CLASSES, UP
from attpd_bench.data.recordings import RecordingsReader, read_picks
from attpd_bench.errors import DataError
from attpd_bench.models import load_model, polarity_probabilities

PROJECT = Path(__file__).resolve().parent.parent
REAL_DATA = PROJECT / "data" / "real"
KUMAMOTO = REAL_DATA / "kumamoto-2016-04-15"
N_BOOT = 2000
PICK_FILES = ("picks.csv", "picks.xml", "picks.quakeml")  # a case's picks, the first found
POOLED = "all cases"


@dataclass(frozen=True)
class RealCase:
    """A folder of labelled real recordings: ``waveforms/``, a picks file, optionally ``catalog.csv``."""

    path: Path
    picks_file: Path

    @classmethod
    def at(cls, path: Path) -> "RealCase":
        """The case in ``path``, with the first of ``PICK_FILES`` there; none is refused naming the folder."""
        for name in PICK_FILES:
            if (path / name).is_file():
                return cls(path, path / name)
        raise DataError(f"{path}: a real case needs its picks beside waveforms/ ({' or '.join(PICK_FILES)})")

    @property
    def name(self) -> str:
        return self.path.name

    def reader(self) -> RecordingsReader:
        reader = RecordingsReader([self.path / "waveforms"], read_picks(self.picks_file))
        reader.labels_required = False  # unlabelled picks are read (and not scored), not refused
        return reader

    def describe(self) -> str:
        """The folder (relative to the project where it is inside it), with its catalogue's events."""
        try:
            shown = self.path.resolve().relative_to(PROJECT)
        except ValueError:
            shown = self.path
        text = f"`{shown}/`"
        catalog = self.path / "catalog.csv"
        if not catalog.is_file():
            return text
        events = pd.read_csv(catalog)
        if {"event_id", "origin_time", "magnitude"} <= set(events.columns) and len(events) <= 3:
            listed = "; ".join(f"{r.event_id}, {str(r.origin_time)[:10]}, M {r.magnitude}"
                               for r in events.itertuples())
            return f"{text} ({listed})"
        return f"{text} ({len(events)} events)"


def real_cases(folder: Path | str = REAL_DATA) -> list[RealCase]:
    """Every real case in ``folder`` (its sub-folders holding ``waveforms/``), by name; a folder that is a case
    itself is the one case."""
    folder = Path(folder).resolve()  # the demo reads its cases here, then works in its workdir
    if not folder.is_dir():
        raise DataError(f"{folder}: --real-data folder not found (expected folders of waveforms/ and picks.csv)")
    candidates = [folder] if (folder / "waveforms").is_dir() else sorted(p for p in folder.iterdir() if p.is_dir())
    return [RealCase.at(p) for p in candidates if (p / "waveforms").is_dir()]


def windows_and_labels(reader: RecordingsReader) -> tuple[np.ndarray, pd.DataFrame]:
    """Every readable trace's stored window (n, 600) and its metadata (with the analyst's ``label``)."""
    chunks = [c for c in reader.chunks(4096) if len(c.waveforms)]
    if not chunks:
        raise DataError("no readable trace with a P pick among the recordings (`attpd predict` lists why each "
                        "was skipped)")
    return (np.concatenate([c.waveforms for c in chunks]),
            pd.concat([c.meta for c in chunks], ignore_index=True))


def score(labels: np.ndarray, predicted: np.ndarray, *, seed: int = 0, events=None) -> dict:
    """Scores on the traces labelled up or down, with two-stage bootstrap intervals
    (:func:`metrics.two_stage_counts`): events resampled, then traces within each drawn event (one event: its
    traces; traces of one event are not independent, and a few events are not many)."""
    labelled = np.isin(labels, (UP, DOWN))
    y, p = labels[labelled].astype(np.int64), predicted[labelled].astype(np.int64)
    if len(y) == 0:
        raise DataError("no trace is labelled up or down: nothing to score against (the picks' polarity column)")
    events = np.zeros(len(y), dtype=str) if events is None else np.asarray(events).astype(str)[labelled]
    per_unit = np.zeros((len(y), N_CLASSES * N_CLASSES))
    per_unit[np.arange(len(y)), y * N_CLASSES + p] = 1
    counts = M.two_stage_counts(events, N_BOOT, seed)
    n_events = len(np.unique(events))
    unit = "events, then traces within each" if n_events >= 2 else "traces"
    replicates = (counts @ per_unit).reshape(-1, N_CLASSES, N_CLASSES)

    def figures(cm: np.ndarray) -> dict:
        values = M.metrics_from_confusion(cm)
        # the mean of up and down recall over the classes present
        balanced = M.nanmean_last(np.stack([values["recall_up"], values["recall_down"]], axis=-1))
        return {"accuracy": values["accuracy"], "balanced_accuracy": balanced,
                "coverage": values["sign_coverage"], "sign_accuracy": values["sign_accuracy"]}

    result = {"n": int(len(y)), "n_up": int(np.sum(y == UP)), "n_down": int(np.sum(y == DOWN)),
              "n_events": int(n_events), "resampled": unit,
              **{k: float(v) for k, v in figures(M.confusion(y, p)).items()}}
    draws = figures(replicates)
    for key in ("accuracy", "balanced_accuracy"):
        result[f"{key}_ci"] = (float(np.nanpercentile(draws[key], 2.5)), float(np.nanpercentile(draws[key], 97.5)))
    return result


def score_recordings(model, reader: RecordingsReader, *, seed: int = 0,
                     min_confidence: float = M.DEFAULT_MIN_CONFIDENCE) -> tuple[dict, dict]:
    """A picker on a user's labelled recordings (the picks' polarity column): :func:`score` (events resampled
    where there are several) and the risk-coverage curve (:func:`metrics.risk_coverage`)."""
    reader.labels_required = False
    stored, meta = windows_and_labels(reader)
    probabilities = polarity_probabilities(model, stored)
    labels = meta["label"].to_numpy()
    return (score(labels, M.decide(probabilities, min_confidence), seed=seed, events=meta["source_id"].to_numpy()),
            M.risk_coverage(labels, probabilities))


@dataclass(frozen=True)
class RealSet:
    """The readable, labelled traces of some real cases, read once (cases are single events or a few: small)."""

    cases: list[RealCase]
    stored: np.ndarray  # (n, 600) store windows
    labels: np.ndarray
    events: np.ndarray  # "case/event_id": events of different cases never merge
    case_of: np.ndarray


def read_cases(cases: list[RealCase]) -> RealSet:
    """Every case's windows and labels; a case with no readable trace labelled up or down is refused naming it
    (the demo reads its cases before it trains, so nothing is lost)."""
    read = {}
    for case in cases:
        try:
            stored, meta = windows_and_labels(case.reader())
        except DataError as exc:
            raise DataError(f"{case.path}: {exc}") from None
        if not np.isin(meta["label"].to_numpy(), (UP, DOWN)).any():
            raise DataError(f"{case.path}: no readable trace with a pick labelled up or down (the picks' "
                            f"polarity column): nothing to score a picker against")
        read[case.name] = stored, meta
    return RealSet(cases=list(cases), stored=np.concatenate([w for w, _ in read.values()]),
                   labels=np.concatenate([m["label"].to_numpy() for _, m in read.values()]),
                   events=np.concatenate([name + "/" + m["source_id"].astype(str).to_numpy()
                                          for name, (_, m) in read.items()]),
                   case_of=np.concatenate([np.full(len(m), name) for name, (_, m) in read.items()]))


def score_models(models: dict[str, object], *, seed: int = 0, case: Path = KUMAMOTO) -> pd.DataFrame:
    """One row per named model (a loaded model, or anything :func:`models.load_model` takes) on one case."""
    return score_cases(models, read_cases([RealCase.at(Path(case))]), seed=seed)[Path(case).name]


def picker_probabilities(models: dict[str, object], real: RealSet) -> dict[str, np.ndarray]:
    """Each named model's (a loaded model, or anything :func:`models.load_model` takes) probabilities on every
    readable trace of the real cases."""
    return {picker: polarity_probabilities(load_model(model) if isinstance(model, str) else model, real.stored)
            for picker, model in models.items()}


def risk_coverage_curves(models: dict[str, object], real: RealSet) -> dict[str, dict]:
    """Each picker's risk-coverage curve (:func:`metrics.risk_coverage`) on all the real cases' labelled traces."""
    return {picker: M.risk_coverage(real.labels, p) for picker, p in picker_probabilities(models, real).items()}


def score_cases(models: dict[str, object], real: RealSet, *, seed: int = 0,
                min_confidence: float = M.DEFAULT_MIN_CONFIDENCE) -> dict[str, pd.DataFrame]:
    """Per case (by name) a table of one row per named model; with two or more cases also ``POOLED``: every
    case's labelled traces together, events resampled. An up or down below ``min_confidence`` abstains."""
    names = [case.name for case in real.cases]
    tables = {name: [] for name in names}
    pooled = []
    for picker, probabilities in picker_probabilities(models, real).items():
        predicted = M.decide(probabilities, min_confidence)
        for name in names:
            here = real.case_of == name
            tables[name].append({"picker": picker, **score(real.labels[here], predicted[here], seed=seed,
                                                           events=real.events[here])})
        if len(names) > 1:
            pooled.append({"picker": picker, **score(real.labels, predicted, seed=seed, events=real.events)})
    out = {name: pd.DataFrame(rows).set_index("picker") for name, rows in tables.items()}
    return {POOLED: pd.DataFrame(pooled).set_index("picker"), **out} if pooled else out


def _table_markdown(table: pd.DataFrame) -> str:
    def cell(row, key):
        lo, hi = row[f"{key}_ci"]
        return f"{row[key]:.2f} [{lo:.2f}, {hi:.2f}]"

    shown = pd.DataFrame({"balanced accuracy": [cell(r, "balanced_accuracy") for _, r in table.iterrows()],
                          "accuracy": [cell(r, "accuracy") for _, r in table.iterrows()],
                          "coverage": [f"{c:.2f}" for c in table["coverage"]],
                          "sign accuracy (covered)": [f"{s:.2f}" for s in table["sign_accuracy"]]},
                         index=table.index)
    return shown.to_markdown()


def markdown(tables: dict[str, pd.DataFrame], cases: list[RealCase]) -> str:
    """The tables of :func:`score_cases` as the demo's summary prints them: the pooled one first, then each
    case's."""
    def heading(n, what: str) -> str:
        events = n["n_events"]
        unit = f"{n['resampled']} resampled"
        return (f"{what}: the {n['n']} traces an analyst labelled ({n['n_up']} up, {n['n_down']} down) of "
                f"{events} event{'s' if events > 1 else ''}, read by `attpd predict --waveforms --picks`; 95 % "
                f"intervals: {unit}.")

    parts = []
    if POOLED in tables:
        parts.append(heading(tables[POOLED].iloc[0], f"Dev: all {len(cases)} real cases pooled"))
        parts.append(_table_markdown(tables[POOLED]))
    for case in cases:
        parts.append(heading(tables[case.name].iloc[0], f"Dev real recordings {case.describe()}"))
        parts.append(_table_markdown(tables[case.name]))
    return "\n\n".join(parts)
