"""``attpd audit reversals``: stations whose polarities the other stations' mechanisms contradict, found, scored
and applied (the label audit, ``attpd audit labels``, is :mod:`label_audit`; both write into an audit's folder,
:func:`check_out`).

Two inputs, one test (:mod:`focal.reversals`):

- a store and a polarity source (``analyst``, ``true`` or a model URI): SKHASH runs on the store's events as in
  ``attpd mechanisms``; where a synthetic region knows which stations it wired reversed (``truth.csv``:
  ``station_reversed``) the finding is scored (precision, recall), and the mechanisms are computed again with
  the found stations flipped, their Kagan angle to the truth paired by event with the first;
- a network's own SKHASH input set (its control file, any of SKHASH's input formats): SKHASH runs on the raw
  polarities (the control file's ``$plfile`` left out); where the control file names the network's reversal
  list, the finding is set beside the list's entries active at the events' times, and the mechanisms with the
  found reversals beside those with the network's list (Kagan angle per event).

Everything lands in ``out``: ``reversals.csv`` (one row per station, the reversed first), ``evidence.csv`` (one row
per polarity with its leave-one-station-out vote), ``reversals_skhash.csv`` (SKHASH's reversal file, for
``attpd mechanisms --reversals``), SKHASH's folders; and in a run of ``attpd/audit/<dataset>``.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench import outputs
from attpd_bench.errors import DataError
from attpd_bench.focal import closure, reversals, skhash
from attpd_bench.focal.mechanism import kagan_angle
from attpd_bench.focal.polarities import match_codes

STATION_TABLE, EVIDENCE_TABLE, REVERSAL_FILE = "reversals.csv", "evidence.csv", "reversals_skhash.csv"
MARKER = ".attpd-audit"


@dataclass
class ReversalAudit:
    finding: reversals.Finding
    summary: dict = field(default_factory=dict)
    comparison: pd.DataFrame | None = None  # per event: mechanisms before/after (or against the network's list)


def check_out(out: Path, *, overwrite: bool) -> Path:
    """``--out`` of `attpd audit`: ours when it holds the audit's marker."""
    return outputs.check_out(out, overwrite=overwrite, command="attpd audit",
                             written_by=lambda folder: (folder / MARKER).is_file())


def claim(out: Path) -> None:
    """Mark ``out`` as an audit's folder (what :func:`check_out` recognises)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("attpd audit\n")


def _write_finding(out: Path, finding: reversals.Finding, reversal_text: str) -> None:
    outputs.write_atomically(out / STATION_TABLE, finding.stations.to_csv(index=False))
    outputs.write_atomically(out / EVIDENCE_TABLE, finding.evidence.to_csv(index=False))
    outputs.write_atomically(out / REVERSAL_FILE, reversal_text)


def _summary(finding: reversals.Finding, min_events: int) -> dict:
    stations = finding.stations
    return {"stations": len(stations), "stations_tested": int((stations["decided"] >= min_events).sum()),
            "stations_reversed": int(stations["reversed"].sum()), "polarities": len(finding.evidence),
            "polarities_decided": int(finding.evidence["decided"].sum()),
            "pooled_disagreement": finding.pooled_disagreement}


# ------------------------------------------------------------------------------------------ a store
def audit_store(store: Path, polarities: str, out: Path, *, split: str = "all", alpha: float = reversals.ALPHA,
                min_events: int = reversals.MIN_EVENTS, n_boot: int = 1000, seed: int = 0,
                provenance: dict | None = None, overwrite: bool = False, stations: Path | None = None,
                catalog: Path | None = None, velocity_model: Path | None = None) -> tuple[ReversalAudit, str]:
    """The reversal audit of a store's events (see the module), logged as a run; (audit, run id). ``stations``,
    ``catalog``, ``velocity_model``: SKHASH's geometry where the store lacks it (a store of one's own
    recordings), as for `attpd mechanisms`."""
    from attpd_bench import tracking

    out = check_out(out, overwrite=overwrite)
    request = closure.prepare(store, polarities, out / "before", split=split, n_boot=n_boot, overwrite=True,
                              stations=stations, catalog=catalog, velocity_model=velocity_model)
    picks = closure.polarity_rows(request)
    check_stations(request, picks, min_events)
    skhash.python()  # built before the run: a failed install leaves no run
    claim(out)
    shutil.rmtree(out / "after", ignore_errors=True)  # an earlier audit's, in our own folder
    opened = request.store
    tags = tracking.standard_tags(model=None, dataset=opened.dataset, store_fingerprint=opened.fingerprint,
                                  seed=seed, kind="audit-reversals", polarities=polarities,
                                  **{k: v for k, v in (provenance or {}).items() if k != "model_uri"})
    with tracking.run(tracking.experiment_name("audit", opened.dataset), f"reversals-{closure.run_name(polarities)}",
                      tags, active=False) as log:
        log.log_params({"store": str(opened.path), "polarities": polarities, "split": split, "alpha": alpha,
                        "min_events": min_events, "grid_step_deg": reversals.GRID_STEP_DEG,
                        "decisive_vote": reversals.DECISIVE_VOTE, "skhash_version": skhash.SKHASH_VERSION})
        before = closure.compute(request, n_boot=n_boot, seed=seed, picks=picks)
        info = skhash.polarity_info(out / "before" / closure.SKHASH_FOLDER / skhash.CONTROL_FILE)
        times = request.geometry.catalog.drop_duplicates("event_id").set_index("event_id")["time"]
        finding = reversals.find(reversals.station_evidence(info, times), alpha=alpha, min_events=min_events)
        reversal_text = reversals.skhash_reversal_file(finding.stations, skhash.MATCH_COLUMNS)
        _write_finding(out, finding, reversal_text)
        audit = ReversalAudit(finding, _summary(finding, min_events))
        if request.truth is not None:
            audit.summary.update(score_against_truth(finding, request, min_events))
            if audit.summary["stations_reversed"]:
                request.out, request.reversals = out / "after", reversal_text
                after = closure.compute(request, n_boot=n_boot, seed=seed, picks=picks)
                versus = closure.paired(after.table, before.table, n_boot=n_boot, seed=seed)
                # the events a reversed station recorded: where the found reversals can change the mechanism
                wired = request.truth["station_reversed"].astype(bool).to_numpy()
                affected = set(request.meta["source_id"].astype(str).to_numpy()[wired])
                on_affected = closure.paired(after.table[after.table["event_id"].isin(affected)],
                                             before.table[before.table["event_id"].isin(affected)],
                                             n_boot=n_boot, seed=seed)
                audit.summary.update({"kagan_median_before_deg": before.summary.get("kagan_median_deg", math.nan),
                                      "kagan_median_after_deg": after.summary.get("kagan_median_deg", math.nan),
                                      "events_with_reversed_station": len(affected),
                                      **{f"after_minus_before_{k}": v for k, v in versus.items()},
                                      **{f"reversed_events_after_minus_before_{k}": v
                                         for k, v in on_affected.items()}})
                audit.comparison = before.table.merge(after.table[["event_id", "kagan_deg", "has_mechanism"]],
                                                      on="event_id", suffixes=("_before", "_after"))
        log.log_metrics(audit.summary)
        for name in (STATION_TABLE, EVIDENCE_TABLE, REVERSAL_FILE):
            log.log_artifact(out / name)
    return audit, log.run_id


def score_against_truth(finding: reversals.Finding, request: closure.Request, min_events: int) -> dict:
    """Precision and recall of the stations found against the ones the synthetic region wired reversed: recall
    over every reversed station with a polarity in the audit, and over those with enough decided events to be
    tested."""
    codes = match_codes(request.meta).agg(".".join, axis=1)
    wired = pd.Series(request.truth["station_reversed"].astype(bool).to_numpy(), index=codes.to_numpy())
    wired = wired.groupby(level=0).any()
    stations = finding.stations.set_index("sta_code")
    truly = wired.reindex(stations.index, fill_value=False)
    found, tested = stations["reversed"], stations["decided"] >= min_events
    hits = int((found & truly).sum())
    return {"true_reversed_stations": int(truly.sum()), "true_reversed_tested": int((truly & tested).sum()),
            "reversal_precision": hits / int(found.sum()) if found.any() else math.nan,
            "reversal_recall": hits / int(truly.sum()) if truly.any() else math.nan,
            "reversal_recall_tested": hits / int((truly & tested).sum()) if (truly & tested).any() else math.nan}


def check_stations(request: closure.Request, picks: pd.DataFrame, min_events: int) -> None:
    """Before anything runs: every trace names its station, and some station recorded at least ``min_events``
    events with an up or down polarity (an upper bound of its decided events), else there is nothing to test."""
    codes = request.meta["station_code"].astype(str).str.strip()
    blank = request.meta["station_code"].isna() | codes.isin(["", "nan", "--"])
    if blank.any():
        raise DataError(f"{request.store.path}: {int(blank.sum())} of {len(blank)} traces have no station code "
                        f"(column station_code): the reversal audit is per station")
    most = int(picks.groupby(["network", "station", "location", "channel"])["event_id"].nunique().max())
    if most < min_events:
        raise DataError(f"{request.store.path}: no station recorded {min_events} events with an up or down polarity "
                        f"(the most: {most}); lower --min-events or audit more events")


# ------------------------------------------------------------------------------------------ a SKHASH input set
def audit_control(control: Path, out: Path, *, base: Path | None = None, dataset: str | None = None,
                  alpha: float = reversals.ALPHA, min_events: int = reversals.MIN_EVENTS,
                  overwrite: bool = False) -> tuple[ReversalAudit, str]:
    """The reversal audit of a network's SKHASH input set (see the module), logged as a run; (audit, run id)."""
    from attpd_bench import tracking

    control = Path(control)
    settings = skhash.read_control(control)
    out = check_out(out, overwrite=overwrite)
    dataset = dataset or skhash.dataset_name(control)
    skhash.check_control_inputs(control, base=base)
    skhash.python()
    claim(out)
    raw = skhash.adopt_control(control, out / "raw", base=base, without=("plfile",))
    tags = tracking.standard_tags(model=None, dataset=dataset, store_fingerprint=None, seed=None,
                                  kind="audit-reversals", polarities=str(control))
    with tracking.run(tracking.experiment_name("audit", dataset), "reversals-skhash", tags, active=False) as log:
        log.log_params({"control": str(control.resolve()), "alpha": alpha, "min_events": min_events,
                        "grid_step_deg": reversals.GRID_STEP_DEG, "decisive_vote": reversals.DECISIVE_VOTE,
                        "skhash_version": skhash.SKHASH_VERSION})
        mechanisms_raw = skhash.run(raw)
        info = skhash.polarity_info(raw)
        times = mechanisms_raw.drop_duplicates("event_id").set_index("event_id")["time"]
        finding = reversals.find(reversals.station_evidence(info, times), alpha=alpha, min_events=min_events)
        hash_format = str(settings.get("input_format", ["skhash"])[0]).startswith("hash")
        _write_finding(out, finding, reversal_file(finding.stations, settings))
        audit = ReversalAudit(finding, _summary(finding, min_events))
        if "plfile" in settings:
            list_control = skhash.adopt_control(control, out / "network-list", base=base)
            plfile = Path(skhash.read_control(list_control)["plfile"][0])
            audit.summary.update(compare_with_list(finding, active_listed_stations(plfile, times, hash_format),
                                                   min_events, skhash.merge_columns(settings)))
            with_list = skhash.run(list_control)
            found_control = skhash.adopt_control(control, out / "found", base=base, without=("plfile",))
            found_control = _with_reversal_file(found_control, out / REVERSAL_FILE)
            with_found = skhash.run(found_control)
            audit.comparison = compare_mechanisms({"raw": mechanisms_raw, "found": with_found}, with_list)
            for label in ("raw", "found"):
                kagan = audit.comparison[f"kagan_{label}_vs_list_deg"].dropna()
                audit.summary[f"kagan_{label}_vs_list_median_deg"] = float(kagan.median()) if len(kagan) else math.nan
            outputs.write_atomically(out / "mechanisms_compared.csv", audit.comparison.to_csv(index=False))
            log.log_artifact(out / "mechanisms_compared.csv")
        log.log_metrics(audit.summary)
        for name in (STATION_TABLE, EVIDENCE_TABLE, REVERSAL_FILE):
            log.log_artifact(out / name)
    return audit, log.run_id


def _with_reversal_file(control: Path, reversal_file: Path) -> Path:
    text = control.read_text().rstrip("\n") + f"\n$plfile\n{Path(reversal_file).resolve()}\n"
    outputs.write_atomically(control, text)
    return control


def reversal_file(stations: pd.DataFrame, settings: dict[str, list[str]]) -> str:
    """The stations found reversed as the reversal list a control file's input format reads (``settings``:
    :func:`skhash.read_control`): HASH's for the hash formats, SKHASH's CSV with the fields its station codes
    are made of otherwise."""
    merge_on = skhash.merge_columns(settings)
    if str(settings.get("input_format", ["skhash"])[0]).strip().lower().startswith("hash"):
        return hash_reversal_file(stations, merge_on)
    return reversals.skhash_reversal_file(stations, merge_on)


def hash_reversal_file(stations: pd.DataFrame, merge_on: tuple[str, ...] = ("network", "station", "channel")) -> str:
    """HASH's reversal file (``STA YYYYMMDD YYYYMMDD``, 0 for open) for the stations found reversed: the input
    format of a HASH-format control file, whose station codes join ``merge_on`` (:func:`skhash.merge_columns`)."""
    lines = []
    for _, row in stations[stations["reversed"]].iterrows():
        name = _station_name(row["sta_code"], merge_on)
        first = pd.Timestamp(row.get("first_disagreeing_event")) if pd.notna(row.get("first_disagreeing_event")) \
            else None
        last = pd.Timestamp(row.get("last_disagreeing_event")) if pd.notna(row.get("last_disagreeing_event")) \
            else None
        start = first.strftime("%Y%m%d") if first is not None else "0"
        end = (last + pd.Timedelta(days=1)).strftime("%Y%m%d") if last is not None else "0"
        lines.append(f"{name:<5}{start} {end}")
    return "\n".join(lines) + ("\n" if lines else "")


def _station_name(sta_code: str, merge_on: tuple[str, ...]) -> str:
    """The station of a SKHASH station code: the ``station`` field of the ``merge_on`` fields joined by dots
    (``STA.CHA`` for hash1, ``NET.STA.CHA`` for hash2-5), or the bare code."""
    parts = str(sta_code).split(".")
    return parts[merge_on.index("station")] if len(parts) == len(merge_on) else parts[0]


def active_listed_stations(plfile: Path, times: pd.Series, hash_format: bool) -> set[str]:
    """The stations of a network's reversal list whose period covers at least one of the events (SKHASH's rule:
    start < origin time < end; 0 is open)."""
    if hash_format:
        table = pd.read_csv(plfile, sep=r"\s+", names=["station", "start_time", "end_time"], dtype=str)
        parse = lambda v: pd.to_datetime(v, format="%Y%m%d")  # noqa: E731
    else:
        table = pd.read_csv(plfile, comment="#", dtype=str, skipinitialspace=True)
        parse = pd.to_datetime
    start = table["start_time"].map(lambda v: pd.Timestamp("1900-01-01") if v == "0" else parse(v))
    end = table["end_time"].map(lambda v: pd.Timestamp("2200-01-01") if v == "0" else parse(v))
    origin = pd.to_datetime(times.dropna()).to_numpy()
    active = [bool(((origin > s) & (origin < e)).any()) for s, e in zip(start.to_numpy(), end.to_numpy())]
    return set(table.loc[active, "station"].astype(str))


def compare_with_list(finding: reversals.Finding, listed: set[str], min_events: int,
                      merge_on: tuple[str, ...]) -> dict:
    """The stations found against a network's list: over the stations with enough decided events (station
    codes made of ``merge_on``, :func:`skhash.merge_columns`)."""
    stations = finding.stations.assign(name=finding.stations["sta_code"].map(lambda c: _station_name(c, merge_on)))
    tested = stations[stations["decided"] >= min_events]
    on_list = tested["name"].isin(listed)
    found = tested["reversed"]
    return {"listed_active_tested": int(on_list.sum()), "found_on_list": int((found & on_list).sum()),
            "found_not_on_list": int((found & ~on_list).sum()), "listed_not_found": int((~found & on_list).sum())}


def compare_mechanisms(mechanisms: dict[str, pd.DataFrame], reference: pd.DataFrame) -> pd.DataFrame:
    """Per event of ``reference``: the Kagan angle of each labelled set of mechanisms to it."""
    table = reference[["event_id", "strike", "dip", "rake"]].rename(
        columns={c: f"list_{c}" for c in ("strike", "dip", "rake")})
    for label, found in mechanisms.items():
        table = table.merge(found[["event_id", "strike", "dip", "rake"]].rename(
            columns={c: f"{label}_{c}" for c in ("strike", "dip", "rake")}), on="event_id", how="left")
        table[f"kagan_{label}_vs_list_deg"] = np.where(
            table[f"{label}_strike"].notna(),
            kagan_angle((table[f"{label}_strike"].fillna(0), table[f"{label}_dip"].fillna(0),
                         table[f"{label}_rake"].fillna(0)),
                        (table["list_strike"], table["list_dip"], table["list_rake"])), np.nan)
    return table
