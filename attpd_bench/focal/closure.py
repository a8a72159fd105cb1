"""From polarities to focal mechanisms, scored against the known answer: the closure of a synthetic region.

Polarities of a store's events (the true signs of a synthetic region, the analyst's labels, or a model's
predictions) -> SKHASH in its own environment (:mod:`skhash`) with the region's velocity model -> one mechanism
per event -> the Kagan angle to the true mechanism (:mod:`mechanisms`) where the truth is known.

A model's polarity is its predicted class weighted by its probability (up: ``+p_up``, down: ``-p_down``,
unknown: none), so SKHASH counts an unsure pick less. An event is *eligible* when it has at least SKHASH's
``npolmin`` (8) polarities within SKHASH's ``delmax`` (120 km: what SKHASH itself keeps); ``n_events`` counts those, ``n_mechanisms`` those SKHASH gave a mechanism under its
default quality gates. Intervals resample events (the unit of a mechanism catalogue).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench.focal import skhash
from attpd_bench.focal.polarities import label_weights, model_weights, polarity_table
from attpd_bench.focal import sites
from attpd_bench.focal.truth import aligned_truth, find_truth
from attpd_bench.data.store import MANIFEST_FILE, SPLITS, PolarityStore
from attpd_bench import metrics as M, outputs
from attpd_bench.errors import ConfigError, DataError
from attpd_bench.focal.mechanism import kagan_angle
from attpd_bench.focal.quakeml import read_reference, write_mechanisms

POLARITY_SOURCES = ("true", "analyst")  # or a model URI
QUALITIES = ("A", "B", "C", "D")
TABLE_FILE, QUAKEML_FILE = "mechanisms.csv", "mechanisms.xml"
SKHASH_FOLDER = "skhash"
MECHANISM_COLUMNS = ("strike", "dip", "rake", "quality", "azimuthal_gap", "takeoff_gap", "polarity_misfit",
                     "prob_mech")


@dataclass
class Closure:
    """The per-event table and its summary."""

    table: pd.DataFrame
    summary: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Request:
    """A checked request: the traces, their truth and SKHASH's geometry, and the model (loaded) if any."""

    store: PolarityStore
    polarities: str
    out: Path
    split: str
    meta: pd.DataFrame
    truth: pd.DataFrame | None  # aligned with meta
    geometry: sites.Geometry
    model: object = None
    provenance: dict = field(default_factory=dict)  # what a registered model URI resolved to
    reversals: str | None = None  # a station polarity reversal file's text, applied by SKHASH
    reference: pd.DataFrame | None = None  # mechanisms to score against (event_id, true_strike, ...), the user's


def check_polarity_source(polarities: str) -> None:
    """``true``, ``analyst``, ``first-motion``, a model URI (``scheme:/...``) or a model file; a bare word that is
    none of them is a typo, not a model to look for."""
    import difflib

    from attpd_bench.models.first_motion import FIRST_MOTION

    words = (*POLARITY_SOURCES, FIRST_MOTION)
    if polarities in words or ":/" in polarities or Path(polarities).exists():
        return
    close = difflib.get_close_matches(polarities, words, n=1)
    raise ConfigError(f"--polarities {polarities!r}: expected true, analyst, first-motion or a model URI "
                      f"(models:/NAME@ALIAS, runs:/RUN/model) or file" + (f"; did you mean {close[0]!r}?" if close
                                                                          else ""))


def prepare(store: Path, polarities: str, out: Path, *, truth: Path | None = None, split: str = "test",
            stations: Path | None = None, catalog: Path | None = None, velocity_model: Path | None = None,
            n_boot: int = 1000, reversals: Path | None = None, reference: Path | None = None,
            overwrite: bool = False) -> Request:
    """Everything that can go wrong before SKHASH runs, checked before any run or file exists."""
    if not (Path(store) / MANIFEST_FILE).is_file():
        raise DataError(f"{store}: --store is not a canonical store (no {MANIFEST_FILE}); run `attpd data "
                        f"prepare` first")
    if split not in (*SPLITS, "all"):
        raise ConfigError(f"--split must be one of {', '.join(SPLITS)} or all, got {split!r}")
    if truth is not None and not Path(truth).is_file():
        raise DataError(f"{truth}: --truth not found")
    truth = Path(truth) if truth is not None else find_truth(Path(store))
    check_polarity_source(polarities)
    if polarities == "true" and truth is None:
        raise ConfigError("--polarities true needs the synthetic region's truth: give --truth RAW/truth.csv")
    if n_boot < 1:
        raise ConfigError(f"--n-boot must be at least 1, got {n_boot}")
    reversal_text = read_reversal_file(reversals) if reversals is not None else None
    reference_table = read_reference(reference) if reference is not None else None
    out = check_out(out, overwrite=overwrite)
    opened = PolarityStore(store)
    meta = opened.metadata.iloc[opened.rows(None if split == "all" else split)].reset_index(drop=True)
    if meta.empty:
        raise DataError(f"{store}: the {split} split holds no trace")
    aligned = aligned_truth(meta, truth) if truth is not None else None
    geometry = sites.geometry(meta, truth=aligned, truth_path=truth, stations=stations, catalog=catalog,
                               velocity_model=velocity_model)
    model = None
    if polarities not in POLARITY_SOURCES:
        from attpd_bench.models import load_model

        model = load_model(polarities)
    return Request(opened, polarities, out, split, meta, aligned, geometry, model, reversals=reversal_text,
                   reference=reference_table)


REVERSAL_COLUMNS = (*skhash.MATCH_COLUMNS, "start_time", "end_time")


def read_reversal_file(path: Path) -> str:
    """The text of a station polarity reversal file in SKHASH's CSV format (``attpd audit reversals`` writes
    one), checked for its columns."""
    try:
        table = pd.read_csv(path, comment="#", dtype=str)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: --reversals cannot be read as CSV ({exc})") from None
    missing = [c for c in REVERSAL_COLUMNS if c not in table]
    if missing:
        raise DataError(f"{path}: --reversals has no column {missing[0]!r} (expected SKHASH's reversal file: "
                        f"{', '.join(REVERSAL_COLUMNS)})")
    return Path(path).read_text()


def check_out(out: Path, *, overwrite: bool) -> Path:
    """``--out`` of `attpd mechanisms`: ours when it holds the SKHASH input set this suite wrote."""
    return outputs.check_out(out, overwrite=overwrite, command="attpd mechanisms",
                             written_by=lambda folder: skhash.written_by_us(folder / SKHASH_FOLDER))


class NoPolarity(DataError):
    """The source called no trace up or down (a single-class model): nothing for SKHASH."""


def polarity_rows(request: Request, batch_size: int = 1024) -> pd.DataFrame:
    """SKHASH's polarity rows of the request's source; :class:`NoPolarity` when there is none."""
    picks = polarity_table(request.meta, _weights(request, batch_size))
    if picks.empty:
        raise NoPolarity(f"{request.store.path}: no up or down polarity among the {len(request.meta)} "
                         f"{request.split} traces ({request.polarities}): nothing for SKHASH")
    return picks


def compute(request: Request, *, n_boot: int = 1000, seed: int = 0, batch_size: int = 1024,
            picks: pd.DataFrame | None = None) -> Closure:
    """Mechanisms of the request's events; SKHASH's input set and output stay in ``out/skhash`` (rerun by
    hand: ``attpd skhash out/skhash/control.txt``), the per-event table in ``out/mechanisms.csv``."""
    picks = polarity_rows(request, batch_size) if picks is None else picks
    (request.out / TABLE_FILE).unlink(missing_ok=True)  # a failure below must not leave the last answer behind
    start = time.perf_counter()
    geometry = request.geometry
    control = skhash.write_inputs(request.out / SKHASH_FOLDER, picks, geometry.stations, geometry.catalog,
                                  geometry.velocity_model, reversals=request.reversals)
    mechanisms = skhash.run(control)
    seconds = time.perf_counter() - start
    distance = skhash_distance_km(picks, geometry.stations, geometry.catalog)
    picks = picks.assign(within_delmax=(distance <= skhash.QUALITY_GATES["delmax"]).to_numpy())
    known = request.reference if request.reference is not None else _true_mechanisms(request.meta, request.truth)
    table = event_table(picks, mechanisms, known, skipped=skhash.skip_reasons(control.parent))
    outputs.write_atomically(request.out / TABLE_FILE, table.to_csv(index=False))
    write_mechanisms(request.out / QUAKEML_FILE, table[table["has_mechanism"]], origins=geometry.catalog,
                     method=f"SKHASH-{skhash.SKHASH_VERSION}")
    return Closure(table, summarise(table, n_boot=n_boot, seed=seed), seconds)


def _weights(request: Request, batch_size: int) -> np.ndarray:
    if request.polarities == "true":
        return request.truth["true_sign"].to_numpy(np.float64)
    if request.polarities == "analyst":
        return label_weights(request.meta["label"].to_numpy())
    from attpd_bench.pipeline import predict_probabilities

    model = request.model
    split = None if request.split == "all" else request.split
    return model_weights(predict_probabilities(model, request.store, split, batch_size=batch_size))


def _true_mechanisms(meta: pd.DataFrame, aligned: pd.DataFrame | None) -> pd.DataFrame | None:
    if aligned is None:
        return None
    mechanisms = aligned[["strike", "dip", "rake"]].add_prefix("true_")
    mechanisms.insert(0, "event_id", meta["source_id"].astype(str).to_numpy())
    return mechanisms.drop_duplicates("event_id")


def skhash_distance_km(picks: pd.DataFrame, stations: pd.DataFrame, catalog: pd.DataFrame) -> pd.Series:
    """Source-receiver distance of each pick as SKHASH computes it before its ``delmax`` cut (``in_sta``: a flat
    earth of 111.2 km per degree, longitudes shrunk by the cosine of the origin's latitude); NaN where the
    station or the origin is unknown."""
    located = picks.merge(stations, on=list(skhash.MATCH_COLUMNS), how="left").merge(
        catalog[["event_id", "latitude", "longitude"]].astype({"event_id": str}), on="event_id", how="left",
        suffixes=("_station", "_origin"))
    dx = (located["longitude_station"] - located["longitude_origin"]) * 111.2 * np.cos(
        np.radians(located["latitude_origin"]))
    dy = (located["latitude_station"] - located["latitude_origin"]) * 111.2
    return pd.Series(np.hypot(dx, dy).to_numpy(), index=picks.index)


def event_table(picks: pd.DataFrame, mechanisms: pd.DataFrame, truth: pd.DataFrame | None, *,
                skipped: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per event with a polarity: its count (and the count SKHASH keeps, within ``delmax``, where
    ``picks`` says so in ``within_delmax``), SKHASH's mechanism (NaN where none), why SKHASH skipped it
    (``skipped``: the gap gate it failed, from :func:`skhash.skip_reasons`; empty otherwise) and, with the truth,
    the true mechanism and the Kagan angle between them. Eligible: at least ``npolmin`` polarities SKHASH keeps."""
    within = picks["within_delmax"] if "within_delmax" in picks else pd.Series(True, index=picks.index)
    counts = picks.assign(within_delmax=within.astype(bool)).groupby("event_id").agg(
        n_polarities=("p_polarity", "size"), n_within_delmax=("within_delmax", "sum"),
        n_up=("p_polarity", lambda w: int((w > 0).sum())))
    table = counts.reset_index()
    table["n_within_delmax"] = table["n_within_delmax"].astype(int)
    table["eligible"] = table["n_within_delmax"] >= skhash.QUALITY_GATES["npolmin"]
    found = mechanisms.reindex(columns=["event_id", *MECHANISM_COLUMNS])
    table = table.merge(found.astype({"event_id": str}), on="event_id", how="left")
    table["has_mechanism"] = table["strike"].notna()
    table["skhash_skipped"] = [(skipped or {}).get(event, "") for event in table["event_id"]]
    if truth is not None:
        table = table.merge(truth, on="event_id", how="left")
        table["kagan_deg"] = np.where(
            table["has_mechanism"],
            kagan_angle((table["strike"].fillna(0), table["dip"].fillna(0), table["rake"].fillna(0)),
                        (table["true_strike"], table["true_dip"], table["true_rake"])), np.nan)
    return table


def summarise(table: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """Counts, quality classes and (with the truth) the median Kagan angle with its event-bootstrap 95 %
    interval, over eligible events."""
    eligible = table[table["eligible"]]
    solved = eligible[eligible["has_mechanism"]]
    summary = {"n_events": len(eligible), "n_mechanisms": len(solved),
               "mechanism_fraction": len(solved) / len(eligible) if len(eligible) else math.nan,
               "n_polarities": int(table["n_polarities"].sum())}
    for quality in QUALITIES:
        summary[f"quality_{quality}"] = int((solved["quality"] == quality).sum())
    if "kagan_deg" in table:
        kagan = solved["kagan_deg"].to_numpy()
        summary["kagan_median_deg"] = float(np.median(kagan)) if len(kagan) else math.nan
        low, high = median_interval(kagan, n_boot=n_boot, seed=seed)
        summary["kagan_median_low_deg"], summary["kagan_median_high_deg"] = low, high
    return summary


MIN_EVENTS_FOR_INTERVAL = 10  # below it a bootstrap of the median says nothing: the count is shown instead


def median_interval(values: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                    level: float = 0.95) -> tuple[float, float]:
    """:func:`metrics.median_interval` (events resampled), NaN for fewer than ``MIN_EVENTS_FOR_INTERVAL`` values
    (two values would give an interval of the two)."""
    if len(values) < MIN_EVENTS_FOR_INTERVAL:
        return math.nan, math.nan
    return M.median_interval(values, n_boot=n_boot, seed=seed, level=level)


def paired(table_a: pd.DataFrame, table_b: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """Kagan angle of ``a`` minus ``b`` on the eligible events both gave a mechanism: median difference with
    its event-bootstrap interval, and on how many events ``a`` came closer to the truth."""
    both = table_a.merge(table_b, on="event_id", suffixes=("_a", "_b"))
    both = both[both["has_mechanism_a"] & both["has_mechanism_b"] & both["eligible_a"] & both["eligible_b"]]
    difference = (both["kagan_deg_a"] - both["kagan_deg_b"]).to_numpy()
    low, high = median_interval(difference, n_boot=n_boot, seed=seed)
    return {"n_paired": len(difference),
            "median_difference_deg": float(np.median(difference)) if len(difference) else math.nan,
            "low_deg": low, "high_deg": high, "a_closer": int((difference < 0).sum()),
            "b_closer": int((difference > 0).sum())}


def paired_text(versus: dict | None, *, a: str = "PD", b: str = "Ross") -> str:
    """:func:`paired`'s result in words: the median difference, its interval (none below
    ``MIN_EVENTS_FOR_INTERVAL`` events) and who came closer how often."""
    if versus is None or versus["n_paired"] == 0:
        return "no event with a mechanism from both"
    interval = (f"[{versus['low_deg']:+.1f}, {versus['high_deg']:+.1f}]" if np.isfinite(versus["low_deg"])
                else "(too few events for an interval)")
    return (f"{versus['median_difference_deg']:+.1f} deg {interval} on {versus['n_paired']} events with a mechanism "
            f"from both; {a} closer on {versus['a_closer']}, {b} on {versus['b_closer']}")


def compute_and_log(request: Request, *, n_boot: int = 1000, seed: int = 0) -> tuple[Closure, str]:
    """:func:`compute` recorded as a run in ``attpd/mechanisms/<dataset>``: the summary as metrics, the
    per-event table, SKHASH's input set, true-vs-recovered beachballs and the Kagan histogram."""
    from attpd_bench import plots, tracking

    store = request.store
    picks = polarity_rows(request)  # before the run: a source with no up/down pick leaves no failed run
    skhash.python()  # SKHASH's environment built (a network install) before the run: a failure leaves none
    tags = tracking.standard_tags(model=None, dataset=store.dataset, store_fingerprint=store.fingerprint,
                                  seed=seed, kind="mechanisms", polarities=request.polarities,
                                  **{k: v for k, v in request.provenance.items() if k != "model_uri"})
    with tracking.run(tracking.experiment_name("mechanisms", store.dataset),
                      f"mechanisms-{run_name(request.polarities)}", tags, active=False) as log:
        log.log_params({"store": str(store.path), "polarities": request.polarities, "split": request.split,
                        "reversals_applied": request.reversals is not None,
                        "skhash_version": skhash.SKHASH_VERSION,
                        **{f"skhash_{k}": v for k, v in skhash.QUALITY_GATES.items()}})
        closure = compute(request, n_boot=n_boot, seed=seed, picks=picks)
        log.log_metrics({**closure.summary, "skhash_seconds": closure.seconds})
        log.log_artifacts(request.out / SKHASH_FOLDER, SKHASH_FOLDER)
        log.log_artifact(request.out / TABLE_FILE)
        log.log_artifact(request.out / QUAKEML_FILE)
        if "kagan_deg" in closure.table:
            title = f"{store.dataset}: {request.polarities}"
            log.log_figure(plots.beachballs(closure.table, title=title), "figures/beachballs.png")
            log.log_figure(plots.kagan_histogram(closure.table, title=title), "figures/kagan_histogram.png")
    return closure, log.run_id


def run_name(polarities: str) -> str:
    """A run name from a polarity source: the model's registered name and alias/version, or the word."""
    return polarities.rstrip("/").split("/")[-1] if polarities not in POLARITY_SOURCES else polarities


def compare_sources(store: PolarityStore, sources: dict[str, str], out: Path, *, split: str = "test",
                    n_boot: int = 1000, seed: int = 0, overwrite: bool = False) -> tuple[pd.DataFrame, dict | None]:
    """The closure benchmark of one store: each polarity source (label -> true, analyst or a model URI) through
    SKHASH, one row each (events, mechanisms, median Kagan angle and its interval); and, when the labels
    ``pd`` and ``ross`` are both there, PD minus Ross paired by event."""
    rows, tables = [], {}
    for label, source in sources.items():
        request = prepare(store.path, source, Path(out) / label.replace(" ", "-"), split=split, n_boot=n_boot,
                          overwrite=overwrite)
        try:
            result = compute_and_log(request, n_boot=n_boot, seed=seed)[0]
        except NoPolarity:  # a single-class model: a row that says so, the other sources still compared
            rows.append({"region": store.dataset, "polarities": label, "events": 0, "mechanisms": 0,
                         "mechanism fraction": math.nan, "median Kagan (deg)": math.nan,
                         "95 % interval": (math.nan, math.nan), "quality A/B/C/D": "no up/down polarity",
                         "SKHASH s": 0.0})
            continue
        tables[label] = result.table
        s = result.summary
        rows.append({"region": store.dataset, "polarities": label, "events": s["n_events"],
                     "mechanisms": s["n_mechanisms"], "mechanism fraction": s["mechanism_fraction"],
                     "median Kagan (deg)": s.get("kagan_median_deg", math.nan),
                     "95 % interval": (s.get("kagan_median_low_deg", math.nan),
                                       s.get("kagan_median_high_deg", math.nan)),
                     "quality A/B/C/D": "/".join(str(s[f"quality_{q}"]) for q in QUALITIES),
                     "SKHASH s": round(result.seconds, 1)})
    pd_label = next((k for k in tables if k.startswith("pd")), None)
    ross_label = next((k for k in tables if k.startswith("ross")), None)
    versus = paired(tables[pd_label], tables[ross_label], n_boot=n_boot, seed=seed) \
        if pd_label and ross_label else None
    frame = pd.DataFrame(rows)
    shared = shared_events(tables)
    frame["median Kagan on shared events (deg)"] = [
        float(tables[label].set_index("event_id").loc[shared, "kagan_deg"].median())
        if label in tables and len(shared) and "kagan_deg" in tables[label] else math.nan
        for label in frame["polarities"]]
    frame["shared events"] = len(shared)
    return frame, versus


def shared_events(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The eligible events every source turned into a mechanism: the only fair ground to rank sources on
    (a source that solves fewer, easier events would otherwise look better)."""
    solved = [set(t.loc[t["eligible"] & t["has_mechanism"], "event_id"]) for t in tables.values()]
    return sorted(set.intersection(*solved)) if solved else []


def markdown_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The benchmark table as printed: medians with their intervals in one column."""
    shown = table.copy()
    shown["median Kagan (deg) [95 %]"] = [
        "none" if not np.isfinite(m) else f"{m:.1f} [{lo:.1f}, {hi:.1f}]" if np.isfinite(lo) else
        f"{m:.1f} (on {n} events: too few for an interval)"
        for m, (lo, hi), n in zip(shown["median Kagan (deg)"], shown["95 % interval"], shown["mechanisms"])]
    shown["mechanism fraction"] = shown["mechanism fraction"].map(lambda v: f"{v:.2f}" if np.isfinite(v) else "none")
    if "median Kagan on shared events (deg)" in shown:
        shown["median Kagan on shared events (deg)"] = [
            "none" if not np.isfinite(v) else f"{v:.1f} (n={n})"
            for v, n in zip(shown["median Kagan on shared events (deg)"], shown["shared events"])]
        shown = shown.drop(columns=["shared events"])
    shown = shown.rename(columns={"median Kagan (deg) [95 %]": "median Kagan, own events (deg) [95 %]"})
    return shown.drop(columns=["median Kagan (deg)", "95 % interval"])


# ------------------------------------------------------------------------------------------ a network's input set
def from_control(control: Path, out: Path, *, base: Path | None = None, dataset: str | None = None,
                 reference: Path | None = None, n_boot: int = 1000, seed: int = 0,
                 overwrite: bool = False) -> tuple[Closure, str]:
    """Mechanisms of a network's own SKHASH input set (its control file, any of SKHASH's input formats, with its
    reversal list and settings as they are), run from the suite's SKHASH environment into ``out/skhash``; the
    per-event table (with ``--reference`` mechanisms, their Kagan angle) and the QuakeML catalogue in ``out``;
    logged as a run in ``attpd/mechanisms/<dataset>``."""

    from attpd_bench import plots, tracking

    control = Path(control)
    out = check_out(out, overwrite=overwrite)
    skhash.check_control_inputs(control, base=base)
    known = read_reference(reference) if reference is not None else None
    dataset = dataset or skhash.dataset_name(control)
    skhash.python()  # built before the run: a failed install leaves no run
    tags = tracking.standard_tags(model=None, dataset=dataset, store_fingerprint=None, seed=seed,
                                  kind="mechanisms", polarities=str(control))
    with tracking.run(tracking.experiment_name("mechanisms", dataset), "mechanisms-skhash-control", tags,
                      active=False) as log:
        log.log_params({"control": str(control.resolve()), "skhash_version": skhash.SKHASH_VERSION,
                        "reference": str(reference) if reference else None})
        start = time.perf_counter()
        adopted = skhash.adopt_control(control, out / SKHASH_FOLDER, base=base)
        mechanisms = skhash.run(adopted)
        seconds = time.perf_counter() - start
        table = mechanisms.rename(columns={"num_p_pol": "n_polarities"}).assign(
            eligible=True, has_mechanism=lambda frame: frame["strike"].notna())
        if known is not None:
            table = table.merge(known, on="event_id", how="left")
            table["kagan_deg"] = kagan_angle((table["strike"], table["dip"], table["rake"]),
                                             (table["true_strike"], table["true_dip"], table["true_rake"]))
        outputs.write_atomically(out / TABLE_FILE, table.to_csv(index=False))
        write_mechanisms(out / QUAKEML_FILE, mechanisms, method=f"SKHASH-{skhash.SKHASH_VERSION}")
        result = Closure(table, summarise(table[table["kagan_deg"].notna()] if "kagan_deg" in table else table,
                                          n_boot=n_boot, seed=seed), seconds)
        result.summary["n_mechanisms"] = int(table["has_mechanism"].sum())
        log.log_metrics({**result.summary, "skhash_seconds": seconds})
        log.log_artifacts(out / SKHASH_FOLDER, SKHASH_FOLDER)
        log.log_artifact(out / TABLE_FILE)
        log.log_artifact(out / QUAKEML_FILE)
        if "kagan_deg" in table:
            title = f"{dataset}: SKHASH against the reference"
            log.log_figure(plots.kagan_histogram(table, title=title), "figures/kagan_histogram.png")
    return result, log.run_id
