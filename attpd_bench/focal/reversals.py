"""Reversed stations: a station whose polarities disagree with the mechanisms of the other stations.

A station wired reversed records every first motion with the wrong sign; its analyst (and every model) reads the
flipped sign faithfully, so nothing in one trace reveals it. Across events it does: the mechanism that the other
stations constrain predicts, at this station's azimuth and take-off angle, the opposite of what it recorded,
event after event. Networks keep such lists by hand (SCSN's, in HASH's and SKHASH's examples).

The test, per station:

1. **Leave-one-station-out prediction.** For every event SKHASH solved, the take-off angles and azimuths SKHASH
   itself used (its ``outfile_pol_info``), and a grid of double couples (``GRID_STEP_DEG``). For each polarity,
   the mechanisms that fit *the other* polarities of the event best (HASH's criterion: the fewest weighted
   misfits, plus HASH's allowance of extra misfits, ``nextra``) vote on the sign at this station. The station's
   own polarity never takes part in the mechanism it is judged by, so a reversed station cannot pull the
   mechanism towards itself. A vote that is not clear (fewer than ``DECISIVE_VOTE`` of the acceptable mechanisms
   agree: the station is near a nodal plane) is not counted.
2. **Test.** Of its ``n`` decided polarities a station disagrees ``k`` times; under "the station is right" a
   disagreement happens at the rate of the *other* stations that agree with their mechanisms (picking errors,
   near-nodal rays, mislocations), overdispersed between stations (a beta-binomial, :func:`null_p_values`).
   One-sided p-value, Benjamini-Hochberg q-value across the stations tested (``scipy``), and a station is
   called reversed where ``q <= alpha``, it disagrees on more than half its decided events, and it has at least
   ``MIN_EVENTS`` of them.

:func:`skhash_reversal_file` writes the finding as SKHASH's station polarity reversal file (``$plfile``, its
CSV format: codes, ``start_time``, ``end_time``), which ``attpd mechanisms --reversals`` applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attpd_bench.errors import DataError
from attpd_bench.focal.mechanism import fault_vectors
from attpd_bench.settings import REVERSAL_ALPHA, REVERSAL_MIN_EVENTS

GRID_STEP_DEG = 10  # strike, dip and rake of the double-couple grid (11,664 mechanisms)
BAD_FRACTION = 0.1  # SKHASH's default badfrac: the fraction of polarities assumed wrong (sets nextra)
DECISIVE_VOTE = 0.8  # share of the acceptable mechanisms that must agree for a prediction to count
MIN_EVENTS = REVERSAL_MIN_EVENTS  # decided events a station needs before it can be called reversed
ALPHA = REVERSAL_ALPHA  # false discovery rate across the stations tested
REQUIRED_COLUMNS = ("event_id", "sta_code", "p_polarity", "takeoff", "azimuth")


def mechanism_grid(step_deg: float = GRID_STEP_DEG) -> tuple[np.ndarray, np.ndarray]:
    """Fault normals and slip vectors (north, east, down) of a strike x dip x rake grid."""
    strike, dip, rake = np.meshgrid(np.arange(0, 360, step_deg), np.arange(step_deg / 2, 90, step_deg),
                                    np.arange(-180, 180, step_deg), indexing="ij")
    return fault_vectors(strike.ravel(), dip.ravel(), rake.ravel())


def ray_directions(azimuth_deg, takeoff_deg) -> np.ndarray:
    """Unit rays (north, east, down) from SKHASH's azimuth and take-off angle, as SKHASH's own
    ``cartesian_transform`` makes them (take-off measured from the upward vertical)."""
    the, phi = np.radians(np.asarray(takeoff_deg, float)), np.radians(np.asarray(azimuth_deg, float))
    return np.stack([np.sin(the) * np.cos(phi), np.sin(the) * np.sin(phi), -np.cos(the)], axis=-1)


def radiation_signs(normals: np.ndarray, slips: np.ndarray, rays: np.ndarray) -> np.ndarray:
    """Sign of the P radiation, (mechanisms, rays): ``(n . r)(d . r)``, the double couple's far-field P."""
    return np.sign((normals @ rays.T) * (slips @ rays.T))


def leave_one_out_votes(signs: np.ndarray, polarity: np.ndarray) -> np.ndarray:
    """For each polarity of one event, the share (-1..1) of the mechanisms that fit the event's *other*
    polarities best which predict up minus those which predict down. ``signs``: (mechanisms, n)."""
    weight = np.abs(polarity)
    misfit = (signs != np.sign(polarity)) * weight  # (mechanisms, n)
    others = misfit.sum(axis=1, keepdims=True) - misfit  # misfit of each mechanism without polarity j
    n_extra = np.maximum(BAD_FRACTION * 0.5 * (weight.sum() - weight), 2.0)  # HASH's nextra, without j
    acceptable = others <= others.min(axis=0) + n_extra
    return (signs * acceptable).sum(axis=0) / acceptable.sum(axis=0)


def station_evidence(pol_info: pd.DataFrame, event_times: pd.Series | None = None, *,
                     step_deg: float = GRID_STEP_DEG) -> pd.DataFrame:
    """One row per polarity of ``pol_info`` (SKHASH's ``outfile_pol_info`` rows) with its leave-one-station-out
    vote, whether it was decided, and whether it disagrees with the vote."""
    missing = [c for c in REQUIRED_COLUMNS if c not in pol_info]
    if missing:
        raise DataError(f"SKHASH's polarity info has no column {missing[0]!r} (expected "
                        f"{', '.join(REQUIRED_COLUMNS)})")
    rows = pol_info.dropna(subset=["takeoff", "azimuth", "p_polarity"])
    rows = rows[rows["p_polarity"] != 0].reset_index(drop=True)
    normals, slips = mechanism_grid(step_deg)
    vote = np.zeros(len(rows))
    for _, index in rows.groupby("event_id", sort=False).indices.items():
        if len(index) < 2:
            continue
        signs = radiation_signs(normals, slips, ray_directions(rows.loc[index, "azimuth"],
                                                                rows.loc[index, "takeoff"]))
        vote[index] = leave_one_out_votes(signs, rows.loc[index, "p_polarity"].to_numpy(float))
    evidence = rows[["event_id", "sta_code", "p_polarity", "azimuth", "takeoff"]].copy()
    evidence["vote"] = np.round(vote, 4)
    evidence["decided"] = is_decisive(vote)
    evidence["disagrees"] = evidence["decided"] & (np.sign(vote) != np.sign(evidence["p_polarity"]))
    if event_times is not None:
        evidence["time"] = evidence["event_id"].map(event_times)
    return evidence


@dataclass
class Finding:
    stations: pd.DataFrame  # one row per station tested, the reversed ones first
    evidence: pd.DataFrame  # one row per polarity (station_evidence)
    pooled_disagreement: float


def is_decisive(vote) -> np.ndarray:
    """A vote (-1 .. 1: the share of acceptable mechanisms predicting up minus down) is decisive when at least
    ``DECISIVE_VOTE`` of the mechanisms agree, i.e. |vote| >= 2 DECISIVE_VOTE - 1."""
    return np.abs(np.asarray(vote, dtype=float)) >= 2 * DECISIVE_VOTE - 1


def find(evidence: pd.DataFrame, *, alpha: float = ALPHA, min_events: int = MIN_EVENTS) -> Finding:
    """The test of every station on its decided polarities (see the module): a beta-binomial null fitted to the
    other stations that agree with their mechanisms on at least half their events."""
    from scipy.stats import false_discovery_control

    decided = evidence[evidence["decided"]]
    pooled = float(decided["disagrees"].mean()) if len(decided) else float("nan")
    grouped = decided.groupby("sta_code")
    stations = pd.DataFrame({"events": evidence.groupby("sta_code")["event_id"].nunique()})
    stations["decided"] = grouped.size().reindex(stations.index, fill_value=0)
    stations["disagreements"] = grouped["disagrees"].sum().reindex(stations.index, fill_value=0).astype(int)
    stations["disagreement_fraction"] = stations["disagreements"] / stations["decided"].where(
        stations["decided"] > 0)
    if "time" in decided:
        wrong = decided[decided["disagrees"]].groupby("sta_code")["time"]
        stations["first_disagreeing_event"] = wrong.min().reindex(stations.index)
        stations["last_disagreeing_event"] = wrong.max().reindex(stations.index)
    p_value, rate, dispersion = null_p_values(stations["disagreements"].to_numpy(), stations["decided"].to_numpy())
    stations["null_rate"], stations["null_dispersion"] = rate, dispersion
    stations["p_value"] = p_value
    tested = stations["decided"] >= min_events
    stations["q_value"] = np.nan
    if tested.any():
        stations.loc[tested, "q_value"] = false_discovery_control(stations.loc[tested, "p_value"].to_numpy())
    stations["reversed"] = tested & (stations["q_value"] <= alpha) & (stations["disagreement_fraction"] > 0.5)
    stations = stations.reset_index().sort_values(["reversed", "p_value", "sta_code"],
                                                  ascending=[False, True, True], kind="stable")
    return Finding(stations.reset_index(drop=True), evidence, pooled)


def null_p_values(disagreements: np.ndarray, decided: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-sided p-values of each station's disagreements under "the station is right", and the null's rate and
    intra-class correlation per station.

    The null is fitted, for each station, to the *other* stations that agree with their mechanisms on at least
    half their decided events: a station never sets its own null, and reversed stations (which disagree on most)
    do not inflate it, as a rate pooled over every station would with the network's reversal rate. Near-nodal
    geometry and mislocations make disagreement vary between right stations more than a binomial allows, so the
    null is a beta-binomial whose mean and intra-class correlation are the method-of-moments estimates over those
    stations (Kleinman 1973; a binomial where they show no overdispersion)."""
    from scipy.stats import betabinom, binom

    k, n = np.asarray(disagreements, dtype=float), np.asarray(decided, dtype=float)
    right = (n > 0) & (k <= n / 2)
    p_value = np.ones(len(k))
    rate, dispersion = np.full(len(k), np.nan), np.zeros(len(k))
    for i in np.flatnonzero(n > 0):
        others = right.copy()
        others[i] = False
        if not others.any():
            continue
        ko, no = k[others], n[others]
        mean = min(max(ko.sum() / no.sum(), 1e-6), 1 - 1e-6)
        rho = _intraclass_correlation(ko, no, mean)
        rate[i], dispersion[i] = mean, rho
        if rho > 0:
            shape = (1 - rho) / rho
            p_value[i] = betabinom.sf(k[i] - 1, int(n[i]), mean * shape, (1 - mean) * shape)
        else:
            p_value[i] = binom.sf(k[i] - 1, int(n[i]), mean)
    return np.clip(p_value, 0.0, 1.0), rate, dispersion


def _intraclass_correlation(k: np.ndarray, n: np.ndarray, mean: float) -> float:
    """Method-of-moments intra-class correlation of proportions k / n around ``mean`` (0 when the spread is no
    larger than binomial; Kleinman 1973, the weighted estimator)."""
    if len(k) < 2:
        return 0.0
    fraction = k / n
    spread = np.sum(n * (fraction - mean) ** 2) / (len(k) - 1)  # binomial expectation: mean (1 - mean)
    n_bar = (n.sum() - np.sum(n ** 2) / n.sum()) / (len(k) - 1)
    rho = (spread - mean * (1 - mean)) / (mean * (1 - mean) * max(n_bar - 1, 1e-9))
    return float(np.clip(rho, 0.0, 0.99))


def skhash_reversal_file(stations: pd.DataFrame, match_columns: tuple[str, ...]) -> str:
    """SKHASH's station polarity reversal file (CSV input format) for the stations found reversed: the codes
    (``sta_code`` split on dots into ``match_columns``) and the period, the days of the first and last
    disagreeing events (0 and 0, SKHASH's "always", where no time is known)."""
    found = stations[stations["reversed"]]
    codes = found["sta_code"].str.split(".", expand=True) if len(found) else pd.DataFrame()
    table = pd.DataFrame({column: codes[i] if i in codes else pd.Series(dtype=str)
                          for i, column in enumerate(match_columns)})
    if "first_disagreeing_event" in found and found["first_disagreeing_event"].notna().all():
        first = pd.to_datetime(found["first_disagreeing_event"]).dt.floor("D")
        last = pd.to_datetime(found["last_disagreeing_event"]).dt.floor("D") + pd.Timedelta(days=1)
        table["start_time"] = first.dt.strftime("%Y-%m-%d").to_numpy()
        table["end_time"] = last.dt.strftime("%Y-%m-%d").to_numpy()
    else:
        table["start_time"], table["end_time"] = "0", "0"
    return table.to_csv(index=False)
