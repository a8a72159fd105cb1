"""Synthetic regions written in the four published layouts, with their ground truth.

Physics, kept simple but causal, so that polarity is learnable and regions differ the way real networks do:

* Events: epicentres in the region's box, depths from the profile, Gutenberg-Richter magnitudes up to M5 at
  b = 0.5 (the benchmark's sample, see ``MAGNITUDE_B_VALUE``), a double-couple mechanism drawn around the
  region's tectonic style (normal faulting in the Apennines, thrust in Japan, strike-slip in southern
  California, a mix in the Pacific Northwest), a log-normal stress drop and a composite rupture per event.
* Network: stations on a jittered grid over the region (a dense regional network, spacing ~20-40 km),
  epicentres inside it; each event is recorded by a draw of stations that favours near ones (the nearest
  always) out to the region's range, so picks span a few km to ~150 km all around the source.
* Rays: first arrivals traced in the region's layered 1-D velocity model (:mod:`velocity`; direct up-going
  rays near the source, refracted Pg / Pn beyond): take-off angle (from the downward vertical) and travel
  time. Distances and azimuths on a locally flat earth, as SKHASH computes them, so SKHASH given the same
  velocity model sees the same rays.
* First motion: the P radiation pattern (Aki & Richards 2002, eq. 4.89) at the station's azimuth and take-off;
  its sign is the true polarity, its size scales the direct pulse, so near-nodal stations have a weak first
  motion buried in the (sign-free) scattered coda and noise.
* Waveform: the physical P seismogram of :mod:`seismogram` (composite Brune source, 1/r spreading,
  minimum-phase t* attenuation, P coda and S, the network's velocity sensor, Peterson-model noise), so the
  signal-to-noise ratio follows from magnitude, distance and the station's noise.
* Analyst: two processes, as in the published sets (issue 36). (1) *Reading*: an analyst who looks at an onset
  writes its recorded sign with a probability that rises smoothly with the onset's clarity (first-motion peak /
  noise RMS), logistic in log clarity and the **same for up and down** (:func:`read_probability`; one model for
  every region, its two numbers chosen on the dev event, see ``ANALYST_CLARITY_50``); else unknown
  ("unclear"); a small rate of label errors. (2) *Not read*: many published picks were never read for polarity
  (INSTANCE: ~80 % undecidable): a waveform-independent draw per pick, at the region's ``unread_share``, makes
  the pick unknown ("not read") whatever its onset. The truth table's ``unknown_cause`` says which process made
  an unknown (``unclear`` / ``not read``) and ``read_label`` what the analyst would have written had she read
  it, so training can keep, drop or relabel the unread picks (``attpd data prepare --unread``). Pick jitter is
  larger for emergent onsets. A few stations have reversed vertical channels: the recording is flipped, the
  analyst labels what is recorded, the truth table keeps the physical sign.

``truth.csv`` beside the raw files holds, per trace, everything a later focal-mechanism benchmark needs.
Everything is drawn from one seeded generator: the same seed gives the same files.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pandas as pd

from attpd_bench.data import seismogram as sg
from attpd_bench.data.labels import DOWN, UNKNOWN, UP
from attpd_bench.data.preprocess import SAMPLING_RATE_HZ, STORE_P_SAMPLE, STORE_SAMPLES
from attpd_bench.focal.velocity import MODELS as VELOCITY_MODELS
from attpd_bench.errors import ConfigError, DataError

TRUTH_FILE = "truth.csv"
KM_PER_DEG = 111.2  # SKHASH's (and HASH's) flat-earth conversion
EVENT_MARGIN = 0.15  # epicentres keep this fraction of the region's width from its edges
NEAREST_SHARE = 25  # per cent of an event's picks at its nearest stations (the rest drawn, favouring near)
BOREHOLE_NOISE_REDUCTION_DB = 10.0  # boreholes of >= 100 m are 3-20 dB quieter above 5-10 Hz
NEAR_SURFACE_VP_M_S = 2500.0  # above a borehole sensor: its surface ghost arrives 2h/Vp (0.08-0.16 s) later
PICKS_PER_MAGNITUDE, MAX_PICKS_GROWTH = 0.5, 3.0  # picks per event x 10^(0.5 (M - Mmin)), at most x 3
CANDIDATE_FACTOR = 2  # stations drawn per wanted pick; the profile's count is kept among those that detect P
DETECTION_SNR_DB = 6.0  # P peak / noise RMS of 2: below it no analyst or picker would have picked P
# The catalogue's b-value is a design of the benchmark's sample, not the Earth's (b ~ 1): with b = 1 a region
# of 50-400 events holds one or two events above M3.5, whose long composite ruptures (a small nucleation
# pulse, then larger swings of both signs) are exactly what a picker applied to the M3-5 events that carry
# focal mechanisms must read; b = 0.5 gives them ~10 % of the events (and, with their many picks, ~30 % of the
# traces). The truth table keeps every magnitude, so a user can reweight to b = 1.
MAGNITUDE_B_VALUE = 0.5
# The analyst's reading model (issue 36), one for every region and both signs. Chosen on the dev event
# (data/real/kumamoto-2016-04-15, RESULTS.md): the JMA analyst gave a sign to 12 of its 29 labelled onsets at a
# clarity below 2.17 (benchmarks/realism.py), so half of the onsets are read near clarity 2; the width spreads the
# decision over clarity ~1.2 (15 % read) to ~4 (90 % read), where the `first-motion` rule's own threshold (2)
# also sits.
ANALYST_CLARITY_50 = 2.0
ANALYST_LOG_WIDTH = 0.3
UNCLEAR, UNREAD = "unclear", "not read"  # truth.csv's unknown_cause
UNREAD_TREATMENTS = ("keep", "drop", "read")  # how `attpd data prepare --unread` stores the unread picks
# Station noise level between Peterson's (1993) NLNM (0) and NHNM (1), in dB: McNamara & Buland (2004, BSSA 94)
# found the 1-10 Hz noise of US network stations spread over the whole band between the two models, most of it
# in the middle; no region's distribution is published, so one wide unimodal draw for every region (Beta(2, 2):
# 90 % of the stations between 0.14 and 0.86). Boreholes are quieter still (BOREHOLE_NOISE_REDUCTION_DB).
NOISE_LEVEL_BETA = (2.0, 2.0)
# Station (site) terms of body-wave amplitudes: between-station variability of ~0.4-0.6 natural-log units
# (Rodriguez-Marek et al. 2013, BSSA 103, "phi_S2S"): a log-normal factor per station.
SITE_TERM_SIGMA_LN = 0.5
# P velocity just below a surface station, which sets the incidence angle and the free-surface factor:
# weathered rock to the top of the crustal models (no source per station: a wide range, domain randomisation)
NEAR_SURFACE_VP_KM_S = (2.0, 4.5)
# Beyond the crossover distance the first arrival is a wave refracted along an interface (Pg, Pn), whose
# amplitude falls faster than 1/r: as x^-1/2 L^-3/2 for a head wave (Cerveny & Ravindra 1971), ~x^-2 far beyond
# the critical distance, slower where the interface has a gradient (turning waves). The exponent is drawn per
# event from this range (domain randomisation), continuous with 1/r at the crossover.
REFRACTED_SPREADING_EXPONENT = (1.5, 2.0)
# Analyst pick error (std): an impulsive onset is picked to ~0.01-0.05 s, an emergent one to ~0.05-0.2 s at local
# distances (Diehl, Kissling & Bormann 2012, NMSOP-2 IS 11.4, pick-uncertainty classes); drawn per pick.
PICK_ERROR_STD_S = {"impulsive": (0.01, 0.04), "emergent": (0.04, 0.12)}
REVERBERATION_LEVEL = 0.25  # std of the early discrete reverberations, relative to a unit direct spike


@dataclass(frozen=True)
class RegionProfile:
    """One region's numbers, passed by keyword. Values come from the literature and the published sets' known
    statistics (label shares), never from real traces' labels (the analyst's reading model, the same for every region,
    was chosen on the dev event: see ``ANALYST_CLARITY_50``); each profile below cites its sources."""

    name: str
    networks: tuple[str, ...]
    lat: tuple[float, float]
    lon: tuple[float, float]
    station_spacing_km: float  # the real network's typical station spacing (cited per profile); the synthetic
    # network is a jittered grid of that spacing over the region's box
    depth_km: tuple[float, float]
    magnitude: tuple[float, float]  # Gutenberg-Richter with b = MAGNITUDE_B_VALUE between these
    rake_deg: tuple[float, float]  # tectonic style: mean rake, spread (deg)
    picks_per_event: tuple[int, int]
    max_distance_km: float
    near_km: float  # scale of the station draw's preference for near stations
    stress_drop_mpa: float  # median of a log-normal Brune stress drop, one per event
    q: float  # P-wave quality factor of the whole path: t* = travel time / q + kappa
    kappa_s: float  # near-site P attenuation
    borehole: bool  # sensors at depth: no free-surface doubling, a surface ghost, quieter above 5 Hz
    short_period_fraction: float  # share of 1 Hz geophones (the rest broadband)
    coda_level: float  # median scattered P coda RMS / the first motion of a unit radiation (grows with distance)
    coda_decay_s: float
    # the waveform-independent share of picks never read for polarity (issue 36): set so that, with the analyst's
    # reading model (the same everywhere), a 150-event catalogue (seed 1) has the published unknown share:
    # unread = (published - unclear) / (1 - unclear)
    # (REFERENCE.md: SeisPolarity's counts; Hi-net's set is private: midway between SCSN's and PNW's, 52 %)
    unread_share: float
    impulsive_clarity: float  # an onset this clear is impulsive, below it emergent
    label_error_rate: float
    reversed_station_rate: float
    trace_samples: tuple[int, ...]  # raw trace lengths (one drawn per trace)
    p_sample: tuple[int, int]  # where P falls in a raw trace
    years: tuple[int, int]

    @property
    def n_stations(self) -> int:
        """Stations of the grid: the box's area over the spacing squared."""
        height_km = (self.lat[1] - self.lat[0]) * KM_PER_DEG
        width_km = (self.lon[1] - self.lon[0]) * KM_PER_DEG * np.cos(np.radians(np.mean(self.lat)))
        return max(int(round(height_km * width_km / self.station_spacing_km ** 2)), 1)


PROFILES: dict[str, RegionProfile] = {
    # INSTANCE, Italy: the Italian national network (IV, ~400 broadband stations in the data set over Italy's
    # 301,000 km2: ~27 km spacing, ~30 km in the Apennines; Michelini et al. 2021), Apennine normal faulting, small events (INSTANCE: ML 0-5, most below 2.5); Apennine
    # attenuation (Qp ~ 300, not found for P: from Q of the central Apennines ~ 200-400). Published shares 13 % up
    # / 7 % down / 80 % undecidable: many small, far picks.
    "ins": RegionProfile(name="ins", networks=("IV", "MN"), lat=(40.0, 44.5), lon=(11.0, 16.0),
                         station_spacing_km=27.0,
                         depth_km=(5, 15), magnitude=(1.0, 5.0), rake_deg=(-90, 30), picks_per_event=(18, 40),
                         max_distance_km=120, near_km=20, stress_drop_mpa=4.0, q=300, kappa_s=0.02,
                         borehole=False, short_period_fraction=0.0, coda_level=0.3,
                         coda_decay_s=3.0, unread_share=0.70,
                         impulsive_clarity=30.0, label_error_rate=0.02, reversed_station_rate=0.01,
                         trace_samples=(12000,), p_sample=(1000, 4000), years=(2005, 2020)),
    # Hi-net, Japan: ~800 borehole (>= 100 m) 1 Hz geophones at ~20 km spacing (Obara et al. 2005), low noise,
    # deeper subduction-zone thrust events; Kyushu Qs 846 (Qp taken lower, ~600), borehole kappa small. The data
    # set is private: balance assumed between SCSN's and PNW's.
    "hinet": RegionProfile(name="hinet", networks=("N",), lat=(33.0, 38.0), lon=(132.0, 141.0),
                           station_spacing_km=20.0,
                           depth_km=(5, 60), magnitude=(1.5, 5.0), rake_deg=(90, 25), picks_per_event=(14, 34),
                           max_distance_km=200, near_km=20, stress_drop_mpa=4.0, q=600, kappa_s=0.01,
                           borehole=True, short_period_fraction=1.0, coda_level=0.3,
                           coda_decay_s=4.0, unread_share=0.42,
                           impulsive_clarity=30.0, label_error_rate=0.015, reversed_station_rate=0.005,
                           trace_samples=(6000, 7000), p_sample=(2500, 3500), years=(2015, 2019)),
    # SCSN, southern California: ~400 stations (mixed short-period and broadband) over the ~175,000 km2 of this
    # box, ~20 km spacing, strike-slip, many small events (Mc ~ 1.8; Hutton et al. 2010), stress drops lower (median ~1.5 MPa, Shearer et al. 2006), whole-path
    # Qalpha ~ 200-300. Natural test balance 25 % up / 12 % down / 63 % unknown (the published training file
    # is balanced by subsampling).
    "scsn": RegionProfile(name="scsn", networks=("CI",), lat=(32.5, 36.0), lon=(-120.0, -115.0),
                          station_spacing_km=20.0,
                          depth_km=(2, 15), magnitude=(1.0, 5.0), rake_deg=(180, 25), picks_per_event=(20, 40),
                          max_distance_km=120, near_km=25, stress_drop_mpa=1.5, q=250, kappa_s=0.02,
                          borehole=False, short_period_fraction=0.5, coda_level=0.3,
                          coda_decay_s=3.0, unread_share=0.52,
                          impulsive_clarity=30.0, label_error_rate=0.02, reversed_station_rate=0.01,
                          trace_samples=(600,), p_sample=(STORE_P_SAMPLE, STORE_P_SAMPLE), years=(2000, 2017)),
    # PNW, Pacific Northwest (PNSN, ~300 stations over Washington and Oregon's ~440,000 km2: ~38 km spacing,
    # denser around Puget Sound and Mount St. Helens): ComCat, mixed mechanisms, strong microseisms near the coast
    # (noisier stations), coda Qc = 72 f^0.91 (lower Q); 32 % positive / 27 % negative / 41 % undecidable.
    "pnw": RegionProfile(name="pnw", networks=("UW", "CC"), lat=(42.0, 49.0), lon=(-124.5, -119.0),
                         station_spacing_km=38.0,
                         depth_km=(3, 40), magnitude=(1.0, 5.0), rake_deg=(0, 90), picks_per_event=(16, 34),
                         max_distance_km=150, near_km=20, stress_drop_mpa=4.0, q=250, kappa_s=0.025,
                         borehole=False, short_period_fraction=0.0, coda_level=0.3,
                         coda_decay_s=2.5, unread_share=0.14,
                         impulsive_clarity=30.0, label_error_rate=0.02, reversed_station_rate=0.015,
                         trace_samples=(15001,), p_sample=(4800, 5200), years=(2002, 2022)),
}
REGIONS = tuple(PROFILES)


# ------------------------------------------------------------------------------------------ catalogue
def p_radiation(strike, dip, rake, azimuth, takeoff) -> np.ndarray:
    """Far-field P radiation pattern of a double couple (Aki & Richards eq. 4.89); angles in degrees."""
    s, d, r, a, i = (np.radians(v) for v in (strike, dip, rake, azimuth, takeoff))
    phi = a - s
    return (np.cos(r) * np.sin(d) * np.sin(i) ** 2 * np.sin(2 * phi)
            - np.cos(r) * np.cos(d) * np.sin(2 * i) * np.cos(phi)
            + np.sin(r) * np.sin(2 * d) * (np.cos(i) ** 2 - np.sin(i) ** 2 * np.sin(phi) ** 2)
            + np.sin(r) * np.cos(2 * d) * np.sin(2 * i) * np.sin(phi))


def _station_codes(rng: np.random.Generator, n: int) -> list[str]:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    codes: dict[str, None] = {}  # ordered and fast to search
    while len(codes) < n:
        codes.setdefault("".join(rng.choice(letters, size=4)))
    return list(codes)


def make_network(profile: RegionProfile, rng: np.random.Generator) -> pd.DataFrame:
    """Stations on a grid over the region, each moved up to 35 % of the spacing: a dense regional network."""
    p = profile
    height_km = (p.lat[1] - p.lat[0]) * KM_PER_DEG
    width_km = (p.lon[1] - p.lon[0]) * KM_PER_DEG * np.cos(np.radians(np.mean(p.lat)))
    n_rows = max(int(round(np.sqrt(p.n_stations * height_km / width_km))), 1)
    n_cols = max(int(round(p.n_stations / n_rows)), 1)
    rows, cols = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    ns = rows.size
    lat = p.lat[0] + (rows.ravel() + 0.5 + rng.uniform(-0.35, 0.35, ns)) * (p.lat[1] - p.lat[0]) / n_rows
    lon = p.lon[0] + (cols.ravel() + 0.5 + rng.uniform(-0.35, 0.35, ns)) * (p.lon[1] - p.lon[0]) / n_cols
    return pd.DataFrame({"network": rng.choice(p.networks, size=ns), "station": _station_codes(rng, ns),
                         "station_latitude_deg": lat, "station_longitude_deg": lon,
                         "reversed": rng.random(ns) < p.reversed_station_rate,
                         "noise_level": rng.beta(*NOISE_LEVEL_BETA, size=ns),
                         "site_amplification": np.exp(rng.normal(0.0, SITE_TERM_SIGMA_LN, ns)),
                         "near_surface_vp_km_s": rng.uniform(*NEAR_SURFACE_VP_KM_S, ns),
                         "short_period": rng.random(ns) < p.short_period_fraction,
                         "borehole_depth_m": rng.uniform(100, 200, ns) if p.borehole else np.zeros(ns)})


def make_catalogue(profile: RegionProfile, n_events: int, rng: np.random.Generator) -> pd.DataFrame:
    """One row per (event, station) pick with the physics and the analyst's label; no waveforms yet."""
    if n_events < 1:
        raise ConfigError(f"--n-events must be at least 1, got {n_events}")
    p = profile
    st = make_network(p, rng)
    start = pd.Timestamp(f"{p.years[0]}-01-01")
    span_s = (pd.Timestamp(f"{p.years[1]}-12-31") - start).total_seconds()
    offsets = np.sort(rng.choice(int(span_s) // 60, size=n_events, replace=False)) * 60  # unique minutes
    b = MAGNITUDE_B_VALUE
    mags = p.magnitude[0] - np.log10(1 - rng.random(n_events) * (1 - 10 ** -(b * (p.magnitude[1] - p.magnitude[0])))) / b
    inner_lat = np.array(p.lat) + np.array([1, -1]) * EVENT_MARGIN * (p.lat[1] - p.lat[0])
    inner_lon = np.array(p.lon) + np.array([1, -1]) * EVENT_MARGIN * (p.lon[1] - p.lon[0])
    ev = pd.DataFrame({
        "origin_time": start + pd.to_timedelta(offsets, unit="s"),
        "source_latitude_deg": rng.uniform(*inner_lat, n_events),
        "source_longitude_deg": rng.uniform(*inner_lon, n_events),
        "source_depth_km": rng.uniform(*p.depth_km, n_events), "magnitude": np.round(mags, 2),
        "strike": rng.uniform(0, 360, n_events), "dip": rng.uniform(20, 90, n_events),
        "rake": (rng.normal(p.rake_deg[0], p.rake_deg[1], n_events) + 180) % 360 - 180})
    velocity = VELOCITY_MODELS[p.name]
    rows = []
    for k, e in enumerate(ev.itertuples()):
        # locally flat earth around the epicentre, as SKHASH computes distance and azimuth
        north = (st["station_latitude_deg"].to_numpy() - e.source_latitude_deg) * KM_PER_DEG
        east = (st["station_longitude_deg"].to_numpy() - e.source_longitude_deg) * KM_PER_DEG * np.cos(
            np.radians(e.source_latitude_deg))
        dist = np.hypot(north, east)
        candidates = np.flatnonzero(dist <= p.max_distance_km)
        if len(candidates) == 0:
            candidates = np.argsort(dist)[:1]
        # larger events are recorded, picked and labelled at more stations (their P is detected farther out):
        # the published sets hold far more traces of an M4 than of an M1.5 event
        growth = min(10 ** (PICKS_PER_MAGNITUDE * (e.magnitude - p.magnitude[0])), MAX_PICKS_GROWTH)
        wanted = int(round(rng.integers(p.picks_per_event[0], p.picks_per_event[1] + 1) * growth))
        n_picks = min(CANDIDATE_FACTOR * wanted, len(candidates))
        by_distance = candidates[np.argsort(dist[candidates])]
        n_nearest = NEAREST_SHARE * wanted // 100 + 1
        nearest, others = by_distance[:n_nearest], by_distance[n_nearest:]
        weight = np.exp(-dist[others] / p.near_km)
        drawn = rng.choice(others, size=min(n_picks - len(nearest), len(others)), replace=False,
                           p=weight / weight.sum()) if len(others) else np.array([], dtype=int)
        chosen = np.sort(np.concatenate([nearest, drawn]))
        is_nearest = np.isin(chosen, nearest)
        takeoff, travel_time = velocity.first_arrivals(e.source_depth_km, dist[chosen])
        crossover = crossover_distance_km(velocity, e.source_depth_km, p.max_distance_km)
        rows.append(pd.DataFrame({"event": k, "sta": chosen, "distance_km": dist[chosen],
                                  "azimuth_deg": np.degrees(np.arctan2(east[chosen], north[chosen])) % 360,
                                  "takeoff_deg": takeoff, "travel_time_s": travel_time, "picks_wanted": wanted,
                                  "crossover_km": crossover,
                                  "nearest": is_nearest}))
    cat = pd.concat(rows, ignore_index=True)
    cat = cat.join(ev, on="event").join(st, on="sta")
    cat["radiation_amplitude"] = p_radiation(cat["strike"], cat["dip"], cat["rake"], cat["azimuth_deg"],
                                             cat["takeoff_deg"])
    n = len(cat)
    cat["true_sign"] = np.where(cat["radiation_amplitude"] >= 0, 1, -1)
    cat["recorded_sign"] = cat["true_sign"] * np.where(cat["reversed"], -1, 1)
    _physics(cat, p, velocity, rng)
    # a pick exists only where P can be seen: the published sets hold picked arrivals, not every station in range
    detected = (cat["snr_db"] >= DETECTION_SNR_DB) | (cat.groupby("event")["distance_km"].rank(method="first") == 1)
    cat = cat[detected.to_numpy()].reset_index(drop=True)
    # the wanted number of picks among those that detect P: the nearest first, then at random
    key = rng.random(len(cat)) - cat["nearest"].to_numpy()
    order = cat.assign(key=key).groupby("event")["key"].rank(method="first")
    cat = cat[(order <= cat["picks_wanted"]).to_numpy()].drop(columns=["picks_wanted", "nearest"])
    cat = cat.reset_index(drop=True)
    n = len(cat)
    clarity = cat["clarity"].to_numpy()
    cat["impulsive"] = clarity >= p.impulsive_clarity
    _analyst(cat, p, rng)
    std_s = np.where(cat["impulsive"], rng.uniform(*PICK_ERROR_STD_S["impulsive"], n),
                     rng.uniform(*PICK_ERROR_STD_S["emergent"], n))
    cat["pick_error_samples"] = np.round(rng.normal(0, std_s * SAMPLING_RATE_HZ)).astype(int)
    cat["trace_samples"] = rng.choice(p.trace_samples, size=n)
    cat["p_pick_sample"] = rng.integers(p.p_sample[0], p.p_sample[1] + 1, size=n)
    cat["onset_sample"] = cat["p_pick_sample"] - cat["pick_error_samples"]  # the analyst's pick is off by jitter
    cat["gain"] = 10 ** rng.uniform(8.5, 9.5, n)  # sensitivity, counts per m/s
    return cat.drop(columns=["sta"])


def read_probability(clarity) -> np.ndarray:
    """Probability that an analyst who looks at an onset of this clarity (first-motion peak / noise RMS) writes
    its sign: logistic in ln(clarity), centred on ``ANALYST_CLARITY_50``, the same for up and down."""
    z = (np.log(np.maximum(np.asarray(clarity, dtype=float), 1e-12)) - np.log(ANALYST_CLARITY_50)) / ANALYST_LOG_WIDTH
    return 1.0 / (1.0 + np.exp(-z))


def _analyst(cat: pd.DataFrame, p: RegionProfile, rng: np.random.Generator) -> None:
    """The two processes of the module docstring: reading (clarity, sign-symmetric, with errors), then a
    waveform-independent "not read" draw. Adds ``read_label``, ``analyst_label``, ``label_error`` and
    ``unknown_cause`` ('' for up / down, ``unclear``, ``not read``)."""
    n = len(cat)
    rec = cat["recorded_sign"].to_numpy()
    read = rng.random(n) < read_probability(cat["clarity"].to_numpy())
    label = np.where(read, np.where(rec > 0, UP, DOWN), UNKNOWN).astype(np.int8)
    err = rng.random(n) < p.label_error_rate
    wrong = np.where(label == UNKNOWN, rng.choice([UP, DOWN], size=n),
                     np.where(rng.random(n) < 0.5, np.where(label == UP, DOWN, UP), UNKNOWN))
    label = np.where(err, wrong, label).astype(np.int8)
    # its own stream, drawn for every pick whatever its waveform: "not read" cannot depend on the onset
    not_read = np.random.default_rng(rng.integers(0, 2 ** 63)).random(n) < p.unread_share
    cat["read_label"] = label
    cat["analyst_label"] = np.where(not_read, UNKNOWN, label).astype(np.int8)
    cat["label_error"] = err & ~not_read
    cat["unknown_cause"] = np.where(not_read, UNREAD, np.where(label == UNKNOWN, UNCLEAR, ""))


def crossover_distance_km(velocity, source_depth_km: float, max_distance_km: float) -> float:
    """Epicentral distance beyond which the first arrival from this depth is refracted (a down-going ray that
    turned), on a 1 km grid out to ``max_distance_km``; infinity when it stays direct. The depth is taken to the
    nearest 0.5 km (the crossover moves by about the grid's 1 km for that), so events share the ray tracing."""
    return _crossover(velocity.name, round(2 * float(source_depth_km)) / 2, float(max_distance_km))


@lru_cache(maxsize=4096)
def _crossover(model: str, source_depth_km: float, max_distance_km: float) -> float:
    grid = np.arange(0.5, max_distance_km + 1.0, 1.0)
    takeoff, _ = VELOCITY_MODELS[model].first_arrivals(source_depth_km, grid)
    beyond = np.flatnonzero(takeoff < 90.0)
    return float(grid[beyond[0]]) if len(beyond) else np.inf


def geometric_spreading(hypo_km, crossover_hypo_km, exponent, refracted) -> np.ndarray:
    """Amplitude per unit source at hypocentral distance r (1/m): 1/r for a direct wave; for a refracted first
    arrival, 1/r up to the crossover r_x and (1/r_x)(r_x/r)^exponent beyond (``REFRACTED_SPREADING_EXPONENT``)."""
    r = np.maximum(np.asarray(hypo_km, dtype=float), 1.0)
    r_x = np.clip(np.asarray(crossover_hypo_km, dtype=float), 1.0, r)
    km = np.where(refracted, (1.0 / r_x) * (r_x / r) ** np.asarray(exponent, dtype=float), 1.0 / r)
    return km / 1000.0


def free_surface_vertical(ray_parameter_s_km, vp_km_s) -> np.ndarray:
    """Vertical displacement at a free surface per unit incident P displacement (Aki & Richards 2002, 5.2.4;
    Poisson solid, Vs = Vp / 1.73): 2 at vertical incidence, falling to 0 at grazing incidence."""
    alpha = np.asarray(vp_km_s, dtype=float)
    beta = alpha / sg.VP_VS
    p = np.minimum(np.asarray(ray_parameter_s_km, dtype=float), 0.99 / alpha)
    q_alpha, q_beta = np.sqrt(1 / alpha ** 2 - p ** 2), np.sqrt(1 / beta ** 2 - p ** 2)
    shear = 1 / beta ** 2 - 2 * p ** 2
    rayleigh = shear ** 2 + 4 * p ** 2 * q_alpha * q_beta
    return 2 * alpha / beta ** 2 * q_alpha * shear / rayleigh


def _physics(cat: pd.DataFrame, p: RegionProfile, velocity, rng: np.random.Generator) -> None:
    """Source, path and station numbers per pick (see :mod:`attpd_bench.data.seismogram`), and from them the
    signal-to-noise ratio and the first motion's clarity an analyst sees (in the 1-45 Hz band)."""
    n = len(cat)
    events = cat["event"].to_numpy()
    n_events = events.max() + 1
    stress = p.stress_drop_mpa * 1e6 * np.exp(rng.normal(0, 1.0, n_events))[events]  # 0.3-50 MPa within 2.5 sd
    depth = cat["source_depth_km"].to_numpy()
    vp_source = velocity.vp_at(depth) * 1000.0
    fc = sg.corner_frequency(cat["magnitude"].to_numpy(), stress, vp_source / sg.VP_VS)
    cat["stress_drop_mpa"] = stress / 1e6
    cat["source_vs_m_s"] = vp_source / sg.VP_VS
    cat["rupture_seed"] = rng.integers(0, 2 ** 63, n_events)[events]
    hypo_km = np.hypot(cat["distance_km"].to_numpy(), depth)
    refracted = cat["takeoff_deg"].to_numpy() < 90.0  # a down-going ray that turned: Pg / Pn
    exponent = rng.uniform(*REFRACTED_SPREADING_EXPONENT, n_events)[events]
    spreading = geometric_spreading(hypo_km, np.hypot(cat["crossover_km"].to_numpy(), depth), exponent, refracted)
    ray_parameter = np.sin(np.radians(cat["takeoff_deg"].to_numpy())) / velocity.vp_at(depth)  # s/km
    surface = (np.ones(n) if p.borehole else  # at depth: no free surface, its reflection is the ghost
               free_surface_vertical(ray_parameter, cat["near_surface_vp_km_s"].to_numpy()))
    omega0 = (surface * cat["site_amplification"].to_numpy() * sg.seismic_moment(cat["magnitude"].to_numpy())
              * spreading / (4 * np.pi * sg.RHO_KG_M3 * vp_source ** 3))
    tstar = cat["travel_time_s"].to_numpy() / p.q + p.kappa_s
    first_lobe, peak, l2 = sg.pulse_measures(ruptures=ruptures(cat), events=events, tstar_s=tstar,
                                             short_period=cat["short_period"].to_numpy())
    # the trace's noise: the station's level, a few dB either way by time of day
    level = np.clip(cat["noise_level"].to_numpy() + rng.normal(0, 0.04, n), 0.0, 1.0)
    freqs = np.linspace(0.5, 50.0, 400)
    responses = sg.instrument_responses(freqs, cat["short_period"].to_numpy())
    psd = sg.noise_velocity_psd(freqs, level, borehole_reduction_db=BOREHOLE_NOISE_REDUCTION_DB * p.borehole)
    inside = (freqs >= 1.0) & (freqs <= 45.0)
    noise_rms = np.sqrt(np.sum(psd[:, inside] * np.abs(responses[:, inside]) ** 2, axis=1) * (freqs[1] - freqs[0]))
    coda = p.coda_level * np.exp(rng.normal(0, 0.4, n)) * np.sqrt(1 + cat["distance_km"].to_numpy() / 50.0)
    rad = np.abs(cat["radiation_amplitude"].to_numpy())
    first_motion = omega0 * rad * first_lobe
    p_peak = omega0 * peak * np.maximum(rad, 3.0 * coda)  # coda peaks about 3 RMS
    cat["corner_frequency_hz"] = fc
    cat["omega0_m_s"] = omega0
    cat["free_surface_factor"] = surface
    cat["spreading_per_km"] = spreading
    cat["tstar_s"] = tstar
    cat["coda_spike_level"] = coda * peak / np.maximum(l2, 1e-30)  # spike std giving that coda RMS
    cat["trace_noise_level"] = level
    cat["noise_rms_m_s"] = noise_rms
    cat["first_motion_m_s"] = first_motion
    cat["snr_db"] = 20 * np.log10(p_peak / noise_rms)
    cat["clarity"] = first_motion / noise_rms


def ruptures(cat: pd.DataFrame) -> dict[int, sg.Rupture]:
    """Each event's composite rupture, drawn again from its own seed (the same for every batch of its picks)."""
    first = cat.groupby("event", sort=True)[["magnitude", "stress_drop_mpa", "source_vs_m_s", "rupture_seed"]].first()
    return {int(event): sg.composite_rupture(np.random.default_rng(int(row.rupture_seed)), magnitude=row.magnitude,
                                             stress_drop_pa=row.stress_drop_mpa * 1e6, beta_m_s=row.source_vs_m_s)
            for event, row in first.iterrows()}


# ------------------------------------------------------------------------------------------ waveforms
def make_waveforms(cat: pd.DataFrame, p: RegionProfile, rng: np.random.Generator) -> np.ndarray:
    """Three-component traces (n, 3, L) in counts, E, N, Z order, for picks of equal ``trace_samples``: the
    physical P seismogram of :mod:`seismogram` on Z, its horizontal share and the S wave on E / N, each
    component with its own noise of the station's spectrum."""
    length = int(cat["trace_samples"].iloc[0])
    n = len(cat)
    onset = cat["onset_sample"].to_numpy()
    short_period = cat["short_period"].to_numpy()
    rad = cat["radiation_amplitude"].to_numpy()
    depth_m = cat["borehole_depth_m"].to_numpy()
    greens = sg.GreensFunction(
        radiation=rad, coda_level=cat["coda_spike_level"].to_numpy(),
        rise_s=0.1 + cat["distance_km"].to_numpy() / 100.0, decay_s=p.coda_decay_s,
        reverb_level=np.full(n, REVERBERATION_LEVEL),
        ghost_delay_s=2 * depth_m / NEAR_SURFACE_VP_M_S if p.borehole else None,
        s_delay_s=cat["travel_time_s"].to_numpy() * (sg.VP_VS - 1), s_level=3.0 * cat["coda_spike_level"].to_numpy(),
        polarity=np.where(cat["reversed"], -1.0, 1.0))
    kwargs = dict(omega0_m_s=cat["omega0_m_s"].to_numpy(), ruptures=ruptures(cat), events=cat["event"].to_numpy(),
                  tstar_s=cat["tstar_s"].to_numpy(), short_period=short_period, onset=onset, n_samples=length)
    z = sg.p_seismogram(rng, greens=greens, **kwargs)
    # horizontals: the P's horizontal share (steep incidence near the surface) and a stronger S, other scattering
    horizontal_greens = dataclasses.replace(greens, radiation=0.35 * rad, s_level=2.0 * greens.s_level,
                                            polarity=np.ones(n), ghost_delay_s=None)
    h = sg.p_seismogram(rng, greens=horizontal_greens, **kwargs)
    az = np.radians(cat["azimuth_deg"].to_numpy())[:, None]
    freqs = np.fft.rfftfreq(length, 1 / SAMPLING_RATE_HZ)
    psd = sg.noise_velocity_psd(freqs, cat["trace_noise_level"].to_numpy(),
                                borehole_reduction_db=BOREHOLE_NOISE_REDUCTION_DB * p.borehole)
    recorded_psd = psd * np.abs(sg.instrument_responses(freqs, short_period)) ** 2
    x = np.empty((n, 3, length))
    for component, signal_part in enumerate((h * np.sin(az), h * np.cos(az), z)):
        x[:, component, :] = signal_part + sg.coloured_noise(rng, recorded_psd, length)
    return (x * cat["gain"].to_numpy()[:, None, None]).astype(np.float32)


def _batches(cat: pd.DataFrame, size: int):
    """Picks grouped by trace length, in batches (bounded memory)."""
    for _, group in cat.groupby("trace_samples", sort=True):
        for start in range(0, len(group), size):
            yield group.iloc[start:start + size]


# ------------------------------------------------------------------------------------------ layouts
POLARITY_WORDS = np.array(["positive", "negative", "undecidable"], dtype=object)
HINET_STATUS = np.array(["P", "D", "k"], dtype=object)  # any code but P / k means down in the original rule


def _seisbench_metadata(cat: pd.DataFrame) -> dict:
    """SeisBench column names both INSTANCE and PNW publish."""
    return {
        "source_origin_time": cat["origin_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").to_numpy(),
        "source_latitude_deg": cat["source_latitude_deg"].round(4).to_numpy(),
        "source_longitude_deg": cat["source_longitude_deg"].round(4).to_numpy(),
        "source_depth_km": cat["source_depth_km"].round(2).to_numpy(),
        "source_magnitude": cat["magnitude"].to_numpy(),
        "station_network_code": cat["network"].to_numpy(), "station_code": cat["station"].to_numpy(),
        "station_location_code": "",
        "station_latitude_deg": cat["station_latitude_deg"].round(4).to_numpy(),
        "station_longitude_deg": cat["station_longitude_deg"].round(4).to_numpy(),
        "trace_sampling_rate_hz": SAMPLING_RATE_HZ,
    }


class _BucketWriter:
    """SeisBench-layout waveforms: /data/bucketN (n, 3, L) in the given component order."""

    def __init__(self, h5: h5py.File, order: str, bucket_size: int):
        self.h5, self.order, self.bucket_size = h5, order, bucket_size
        fmt = h5.create_group("data_format")
        for key, value in (("component_order", order), ("dimension_order", "CW"),
                           ("sampling_rate", SAMPLING_RATE_HZ)):
            fmt.create_dataset(key, data=value)
        self.bucket, self.row = 0, 0
        self._rows: list[np.ndarray] = []

    def add(self, enz: np.ndarray) -> list[str]:
        perm = ["ENZ".index(c) for c in self.order]
        data = enz[:, perm, :]
        names = []
        for trace in data:
            if self.row == self.bucket_size:
                self.flush()
            self._rows.append(trace)
            names.append(f"bucket{self.bucket}${self.row},:3,:{trace.shape[-1]}")
            self.row += 1
        return names

    def flush(self):
        if self._rows:
            self.h5.create_dataset(f"data/bucket{self.bucket}", data=np.stack(self._rows), compression="lzf")
            self.bucket, self.row, self._rows = self.bucket + 1, 0, []


SYNTH_MARKER = "synth.json"  # written last: a folder holding it is a complete synthetic region of this suite


def _snr_string(snr_db: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """PNW's 'E|N|Z' SNR strings; a few components 'nan' as published."""
    e = snr_db - rng.uniform(0, 3, len(snr_db))
    nz = snr_db.copy()
    nz[rng.random(len(nz)) < 0.03] = np.nan
    return np.array([f"{a:.3f}|{b:.3f}|{c:.3f}" for a, b, c in zip(e, e + 0.5, nz)], dtype=object)


def write_region(region: str, n_events: int, out: Path, *, seed: int = 0, layout: str = "native",
                 batch_size: int = 128, bucket_size: int = 256,
                 on_batch: Callable[[int, int], None] | None = None,
                 reversed_station_rate: float | None = None) -> pd.DataFrame:
    """Write a synthetic ``region`` in its published layout under ``out``; returns (and writes) the truth.
    ``reversed_station_rate`` replaces the profile's (recorded in ``synth.json``'s profile)."""
    if region not in PROFILES:
        raise ConfigError(f"unknown region {region!r}; expected one of {', '.join(REGIONS)}")
    if layout not in ("native", "seisbench"):
        raise ConfigError(f"unknown layout {layout!r}; expected native or seisbench")
    profile = PROFILES[region]
    if reversed_station_rate is not None:
        if not 0.0 <= reversed_station_rate <= 1.0:
            raise ConfigError(f"--reversed-station-rate must be between 0 and 1, got {reversed_station_rate}")
        profile = dataclasses.replace(profile, reversed_station_rate=reversed_station_rate)
    rng = np.random.default_rng(seed)
    cat = make_catalogue(profile, n_events, rng)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not (out / SYNTH_MARKER).is_file():
        raise DataError(f"{out}: exists and is not a synthetic region written by `attpd data synth` (no "
                        f"{SYNTH_MARKER}); refusing to write into it (a published data set lives there? if it is "
                        f"what an interrupted `attpd data synth` left, delete the folder and run it again)")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    writer = {"ins": _write_instance, "hinet": _write_hinet, "scsn": _write_scsn, "pnw": _write_pnw}[region]
    try:
        (out / SYNTH_MARKER).unlink(missing_ok=True)  # a region being rewritten is incomplete until the end
        truth = writer(cat, profile, rng, out, layout=layout, batch_size=batch_size, bucket_size=bucket_size,
                       on_batch=on_batch or (lambda done, total: None))
        truth.to_csv(out / TRUTH_FILE, index=False)
    except BaseException:  # Ctrl-C, a full disk: what this call wrote goes, so that a rerun starts clean
        if created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for path in set(out.iterdir()) - before:
                path.unlink(missing_ok=True)
        raise
    (out / SYNTH_MARKER).write_text(json.dumps({"region": region, "n_events": n_events, "seed": seed,
                                                "layout": layout, "n_traces": int(truth["written"].sum()),
                                                "profile": asdict(profile),
                                                "velocity_model": asdict(VELOCITY_MODELS[region])},
                                               indent=2))
    return truth


def _truth(cat: pd.DataFrame, names, written=True, **extra) -> pd.DataFrame:
    cols = ["event_id", "origin_time", "source_latitude_deg", "source_longitude_deg", "source_depth_km",
            "magnitude", "strike", "dip", "rake", "network", "station", "station_latitude_deg",
            "station_longitude_deg", "distance_km", "azimuth_deg", "takeoff_deg", "travel_time_s",
            "radiation_amplitude",
            "true_sign", "reversed", "recorded_sign", "analyst_label", "read_label", "unknown_cause",
            "label_error", "snr_db", "clarity",
            "impulsive", "onset_sample", "p_pick_sample"]
    t = cat[cols].rename(columns={"reversed": "station_reversed"}).copy()
    t.insert(0, "source_trace_name", names)
    t["written"] = written
    for k, v in extra.items():
        t[k] = v
    return t.reset_index(drop=True)


def _write_instance(cat, p, rng, out, *, layout, batch_size, bucket_size, on_batch):
    cat = cat.copy()
    cat["event_id"] = (10_000_000 + cat["event"] * 37).astype(str)
    seisbench = layout == "seisbench"
    meta_name, wave_name = (("metadata.csv", "waveforms.hdf5") if seisbench else
                            ("metadata_Instance_events.csv", "Instance_events_counts.hdf5"))
    names = pd.Series("", index=cat.index, dtype=object)
    with h5py.File(out / wave_name, "w") as h5:
        buckets = _BucketWriter(h5, "ZNE", bucket_size) if seisbench else None
        done = 0
        for batch in _batches(cat, batch_size):
            x = make_waveforms(batch, p, rng)
            if seisbench:
                names[batch.index] = buckets.add(x)
            else:
                for idx, trace in zip(batch.index, x):
                    name = f"{cat.at[idx, 'event_id']}.{cat.at[idx, 'network']}.{cat.at[idx, 'station']}..HH"
                    h5.create_dataset(f"data/{name}", data=trace)  # native: (3, 12000), E, N, Z
                    names[idx] = name
            done += len(batch)
            on_batch(done, len(cat))
        if buckets:
            buckets.flush()
    meta = pd.DataFrame({"source_id": cat["event_id"], **_seisbench_metadata(cat),
                         "station_channels": "HH", "trace_name": names,
                         "trace_P_arrival_sample": cat["p_pick_sample"],
                         "trace_polarity": POLARITY_WORDS[cat["analyst_label"]],
                         "trace_Z_snr_db": cat["snr_db"].round(2),
                         "trace_P_onset": np.where(cat["impulsive"], "impulsive", "emergent")})
    meta.to_csv(out / meta_name, index=False)
    return _truth(cat, names)


def _write_pnw(cat, p, rng, out, *, layout, batch_size, bucket_size, on_batch):
    cat = cat.copy()
    cat["event_id"] = "uw" + (61_000_000 + cat["event"] * 13).astype(str)
    names = pd.Series("", index=cat.index, dtype=object)
    with h5py.File(out / "comcat_waveforms.hdf5", "w") as h5:
        buckets = _BucketWriter(h5, "ENZ", bucket_size)
        done = 0
        for batch in _batches(cat, batch_size):
            names[batch.index] = buckets.add(make_waveforms(batch, p, rng))
            done += len(batch)
            on_batch(done, len(cat))
        buckets.flush()
    polarity = POLARITY_WORDS[cat["analyst_label"]].copy()
    # 115 of 183,909 published rows have a blank polarity; keep at least one so readers always meet it
    blank = rng.random(len(cat)) < 115 / 183_909
    if len(cat) >= 50 and not blank.any():
        blank[rng.integers(len(cat))] = True
    polarity[blank] = ""
    meta = pd.DataFrame({"event_id": cat["event_id"], **_seisbench_metadata(cat),
                         "station_channel_code": "HH", "trace_name": names,
                         "trace_start_time": (cat["origin_time"] + pd.to_timedelta(
                             cat["travel_time_s"] - cat["p_pick_sample"] / SAMPLING_RATE_HZ, unit="s")
                                              ).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                         "trace_P_arrival_sample": cat["p_pick_sample"],
                         "trace_P_polarity": polarity,
                         "trace_P_onset": np.where(cat["impulsive"], "impulsive", "emergent"),
                         "trace_snr_db": _snr_string(cat["snr_db"].to_numpy(), rng)})
    meta.to_csv(out / "comcat_metadata.csv", index=False)
    return _truth(cat, names, blank_polarity=blank)


def _write_hinet(cat, p, rng, out, *, layout, batch_size, bucket_size, on_batch):
    cat = cat.copy()
    cat["event_id"] = cat["origin_time"].dt.strftime("%Y%m%d%H%M%S")
    names = (cat["event_id"] + "." + cat["network"] + "." + cat["station"]).to_numpy()
    with h5py.File(out / "HINET_Polarity_15_19.hdf5", "w") as h5:
        done = 0
        for batch in _batches(cat, batch_size):
            x = make_waveforms(batch, p, rng)
            for idx, trace in zip(batch.index, x):
                h5.create_dataset(f"data/{names[idx]}", data=trace.T)  # (n, 3), Z = column 2
            done += len(batch)
            on_batch(done, len(cat))
    pd.DataFrame({"trace_name": names, "p_arrival_sample": cat["p_pick_sample"],
                  "p_status": HINET_STATUS[cat["analyst_label"]]}).to_csv(out / "HINET_Polarity_15_19.csv",
                                                                          index=False)
    return _truth(cat, names)


SCSN_TRAIN_EVENT_SHARE = 0.65


def _write_scsn(cat, p, rng, out, *, layout, batch_size, bucket_size, on_batch):
    """Train = the earlier ``SCSN_TRAIN_EVENT_SHARE`` of the events, balanced by subsampling each class to the
    rarest (as Ross et al. did); test = the later events at their natural balance. With the sign-symmetric
    analyst up and down are about equally rare (~18 % each), so ~55-60 % of the train events' picks are kept and,
    with 65 % of the events in train, the train file ends up about as large as the test file, as published
    (2.49 M and 2.35 M traces)."""
    cat = cat.copy()
    cat["event_id"] = (37_000_000 + cat["event"] * 11).astype(str)
    part = np.where(cat["event"] < SCSN_TRAIN_EVENT_SHARE * (cat["event"].max() + 1), "train", "test")
    written = np.ones(len(cat), dtype=bool)
    train = np.flatnonzero(part == "train")
    counts = np.bincount(cat["analyst_label"].to_numpy()[train], minlength=3)
    keep_n = counts.min()
    written[train] = False
    for label in range(3):
        members = train[cat["analyst_label"].to_numpy()[train] == label]
        written[np.sort(rng.choice(members, size=keep_n, replace=False))] = True
    names = np.empty(len(cat), dtype=object)
    done = 0
    for name in ("train", "test"):
        sel = cat[(part == name) & written]
        path = out / f"scsn_p_2000_2017_6sec_0.5r_fm_{name}.hdf5"
        with h5py.File(path, "w") as h5:
            x = h5.create_dataset("X", shape=(len(sel), STORE_SAMPLES), dtype=np.float32)
            for start in range(0, len(sel), batch_size):
                batch = sel.iloc[start:start + batch_size]
                x[start:start + len(batch)] = make_waveforms(batch, p, rng)[:, 2, :]
                done += len(batch)
                on_batch(done, int(written.sum()))
            h5["Y"] = sel["analyst_label"].to_numpy(np.uint8)
            h5["evids"] = sel["event_id"].astype(np.int64).to_numpy()
            h5["snr"] = sel["snr_db"].to_numpy(np.float32)
            h5["mag"] = sel["magnitude"].to_numpy(np.float32)
            h5["dist"] = sel["distance_km"].to_numpy(np.float32)
            # each station's own vertical channel: EHZ for its short-period sensors, HHZ for its broadbands
            channel = np.where(sel["short_period"], sg.SHORT_PERIOD.channel, sg.BROADBAND.channel)
            h5["sncls"] = (sel["network"] + "." + sel["station"] + "." + channel).to_numpy().astype("S")
        names[sel.index] = [f"{path.stem}${i}" for i in range(len(sel))]
    names[~written] = ""
    return _truth(cat, names, written=written, file=part)
