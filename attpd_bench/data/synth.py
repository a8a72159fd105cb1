"""Synthetic regions written in the four published layouts, with their ground truth.

Physics, kept simple but causal, so that polarity is learnable and regions differ the way real networks do:

* Events: epicentres in the region's box, depths and Gutenberg-Richter magnitudes from the profile, a
  double-couple mechanism drawn around the region's tectonic style (normal faulting in the Apennines, thrust in
  Japan, strike-slip in southern California, a mix in the Pacific Northwest).
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
* Waveform: a damped sinusoid of the magnitude-dependent corner frequency, lowered by attenuation
  (t* = travel time / Q), impulsive or emergent (ramped onset), then P coda, an S arrival, coloured noise
  (microseism peak + 1/f background) at an SNR drawn from the profile and reduced with distance.
* Analyst: labels the *recorded* first motion up / down when its clarity (first-motion SNR) passes a threshold,
  else unknown; down needs a clearer onset than up (analysts call dilatations more cautiously, which with the
  tectonic style gives the published up > down imbalance); a small rate of label errors; pick jitter larger
  for emergent onsets. A few stations have reversed vertical channels: the recording is flipped, the analyst
  labels what is recorded, the truth table keeps the physical sign.

``truth.csv`` beside the raw files holds, per trace, everything a later focal-mechanism benchmark needs.
Everything is drawn from one seeded generator: the same seed gives the same files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pandas as pd

from attpd_bench.data.labels import DOWN, UNKNOWN, UP
from attpd_bench.data.preprocess import SAMPLING_RATE_HZ, STORE_P_SAMPLE, STORE_SAMPLES
from attpd_bench.data.velocity import MODELS as VELOCITY_MODELS
from attpd_bench.errors import ConfigError, DataError

TRUTH_FILE = "truth.csv"
VP_VS = 1.73
KM_PER_DEG = 111.2  # SKHASH's (and HASH's) flat-earth conversion
EVENT_MARGIN = 0.15  # epicentres keep this fraction of the region's width from its edges
NEAREST_SHARE = 25  # per cent of an event's picks at its nearest stations (the rest drawn, favouring near)


@dataclass(frozen=True)
class RegionProfile:
    """One region's numbers. Values are chosen to resemble the published sets, not fitted to them."""

    name: str
    networks: tuple[str, ...]
    lat: tuple[float, float]
    lon: tuple[float, float]
    n_stations: int  # on a jittered grid over the region
    depth_km: tuple[float, float]
    magnitude: tuple[float, float]  # Gutenberg-Richter with b = 1 between these
    rake_deg: tuple[float, float]  # tectonic style: mean rake, spread (deg)
    picks_per_event: tuple[int, int]
    max_distance_km: float
    near_km: float  # scale of the station draw's preference for near stations
    f0_hz_m2: float  # dominant frequency of the P pulse at M2; scales as 10^(-(M-2)/3)
    q: float  # P-wave quality factor (attenuation)
    noise_microseism: float  # relative amplitude of the 0.2 Hz microseism peak
    noise_corner_hz: float  # 1/f background rolls off above this
    noise_hf: float  # relative level of high-frequency (cultural / site) noise above 10 Hz
    snr_db: tuple[float, float]  # median and spread of the P SNR (dB) at median magnitude and distance
    impulsive_fraction: float
    jitter_samples: tuple[float, float]  # analyst pick error std, impulsive / emergent
    clarity_up: float  # first-motion SNR (linear) an analyst needs to call "up"
    clarity_down: float  # ... to call "down"
    label_error_rate: float
    reversed_station_rate: float
    trace_samples: tuple[int, ...]  # raw trace lengths (one drawn per trace)
    p_sample: tuple[int, int]  # where P falls in a raw trace
    years: tuple[int, int]


PROFILES: dict[str, RegionProfile] = {
    # INSTANCE, Italy: dense broadband network, Apennine normal faulting, small events, emergent onsets common,
    # ~80 % undecidable as published (13 % positive, 7 % negative).
    "ins": RegionProfile("ins", ("IV", "MN"), (40.0, 44.5), (11.0, 16.0), 600, (5, 15), (1.5, 4.0), (-90, 30),
                         (18, 40), 120, 20, 8.0, 250, 0.6, 3.0, 0.25, (14.0, 9.0), 0.35, (3.0, 8.0), 4.3,
                         4.3, 0.02, 0.01, (12000,), (1000, 4000), (2005, 2020)),
    # Hi-net, Japan: borehole short-period stations (low noise, high frequency), deeper subduction-zone thrust
    # events, more impulsive onsets; balance assumed (the data set is private).
    "hinet": RegionProfile("hinet", ("N",), (33.0, 38.0), (132.0, 141.0), 1200, (5, 60), (1.5, 4.5), (90, 25),
                           (14, 34), 200, 20, 12.0, 400, 0.3, 5.0, 0.1, (20.0, 8.0), 0.6, (2.0, 5.0), 0.8, 2.2,
                           0.015, 0.005, (6000, 7000), (2500, 3500), (2015, 2019)),
    # SCSN, southern California: strike-slip, mixed short-period/broadband, many small events; natural test
    # balance 25 % up / 12 % down / 63 % unknown (the published training file is balanced by subsampling).
    # A dense network (the real one has ~400 stations): 20-40 picks per event, of which the balanced train file
    # keeps about 45 %.
    "scsn": RegionProfile("scsn", ("CI",), (32.5, 36.0), (-120.0, -115.0), 1200, (2, 15), (1.0, 3.5), (180, 25),
                          (20, 40), 120, 25, 10.0, 300, 0.4, 4.0, 0.2, (16.0, 9.0), 0.5, (2.0, 6.0), 1.6, 5.4,
                          0.02, 0.01, (600,), (STORE_P_SAMPLE, STORE_P_SAMPLE), (2000, 2017)),
    # PNW, Pacific Northwest: ComCat, mixed mechanisms, strong microseisms near the coast, lower frequency;
    # 32 % positive / 27 % negative / 41 % undecidable as published.
    "pnw": RegionProfile("pnw", ("UW", "CC"), (42.0, 49.0), (-124.5, -119.0), 800, (3, 40), (1.0, 4.0), (0, 90),
                         (16, 34), 150, 20, 5.0, 200, 1.2, 2.0, 0.3, (17.0, 9.0), 0.45, (3.0, 8.0), 0.8, 1.35,
                         0.02, 0.015, (15001,), (4800, 5200), (2002, 2022)),
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
                         "reversed": rng.random(ns) < p.reversed_station_rate})


def make_catalogue(profile: RegionProfile, n_events: int, rng: np.random.Generator) -> pd.DataFrame:
    """One row per (event, station) pick with the physics and the analyst's label; no waveforms yet."""
    if n_events < 1:
        raise ConfigError(f"--n-events must be at least 1, got {n_events}")
    p = profile
    st = make_network(p, rng)
    start = pd.Timestamp(f"{p.years[0]}-01-01")
    span_s = (pd.Timestamp(f"{p.years[1]}-12-31") - start).total_seconds()
    offsets = np.sort(rng.choice(int(span_s) // 60, size=n_events, replace=False)) * 60  # unique minutes
    mags = p.magnitude[0] - np.log10(1 - rng.random(n_events) * (1 - 10 ** -(p.magnitude[1] - p.magnitude[0])))
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
        n_picks = min(int(rng.integers(p.picks_per_event[0], p.picks_per_event[1] + 1)), len(candidates))
        by_distance = candidates[np.argsort(dist[candidates])]
        n_nearest = NEAREST_SHARE * n_picks // 100 + 1
        nearest, others = by_distance[:n_nearest], by_distance[n_nearest:]
        weight = np.exp(-dist[others] / p.near_km)
        drawn = rng.choice(others, size=min(n_picks - len(nearest), len(others)), replace=False,
                           p=weight / weight.sum()) if len(others) else np.array([], dtype=int)
        chosen = np.sort(np.concatenate([nearest, drawn]))
        takeoff, travel_time = velocity.first_arrivals(e.source_depth_km, dist[chosen])
        rows.append(pd.DataFrame({"event": k, "sta": chosen, "distance_km": dist[chosen],
                                  "azimuth_deg": np.degrees(np.arctan2(east[chosen], north[chosen])) % 360,
                                  "takeoff_deg": takeoff, "travel_time_s": travel_time}))
    cat = pd.concat(rows, ignore_index=True)
    cat = cat.join(ev, on="event").join(st, on="sta")
    hypo = np.hypot(cat["distance_km"].to_numpy(), cat["source_depth_km"].to_numpy())
    cat["radiation_amplitude"] = p_radiation(cat["strike"], cat["dip"], cat["rake"], cat["azimuth_deg"],
                                             cat["takeoff_deg"])
    n = len(cat)
    cat["true_sign"] = np.where(cat["radiation_amplitude"] >= 0, 1, -1)
    cat["recorded_sign"] = cat["true_sign"] * np.where(cat["reversed"], -1, 1)
    # relative to the catalogue's median magnitude and distance, so the profile's mean is the median SNR
    cat["snr_db"] = (p.snr_db[0] + 15.0 * (cat["magnitude"] - cat["magnitude"].median())
                     - 20 * np.log10(np.maximum(hypo, 5) / np.median(np.maximum(hypo, 5)))
                     + rng.normal(0, p.snr_db[1], n))
    cat["impulsive"] = rng.random(n) < p.impulsive_fraction
    clarity = 10 ** (cat["snr_db"] / 20) * np.abs(cat["radiation_amplitude"]) * np.where(cat["impulsive"], 1, .5)
    cat["clarity"] = clarity
    rec = cat["recorded_sign"].to_numpy()
    label = np.full(n, UNKNOWN, dtype=np.int8)
    label[(rec > 0) & (clarity >= p.clarity_up)] = UP
    label[(rec < 0) & (clarity >= p.clarity_down)] = DOWN
    err = rng.random(n) < p.label_error_rate
    wrong = np.where(label == UNKNOWN, rng.choice([UP, DOWN], size=n),
                     np.where(rng.random(n) < 0.5, np.where(label == UP, DOWN, UP), UNKNOWN))
    cat["analyst_label"] = np.where(err, wrong, label).astype(np.int8)
    cat["label_error"] = err
    jitter = np.where(cat["impulsive"], p.jitter_samples[0], p.jitter_samples[1])
    cat["pick_error_samples"] = np.round(rng.normal(0, jitter)).astype(int)
    cat["trace_samples"] = rng.choice(p.trace_samples, size=n)
    cat["p_pick_sample"] = rng.integers(p.p_sample[0], p.p_sample[1] + 1, size=n)
    cat["onset_sample"] = cat["p_pick_sample"] - cat["pick_error_samples"]  # the analyst's pick is off by jitter
    cat["gain"] = 10 ** rng.uniform(2, 4, n)
    return cat.drop(columns=["sta"])


# ------------------------------------------------------------------------------------------ waveforms
def _noise(rng: np.random.Generator, p: RegionProfile, n: int, length: int) -> np.ndarray:
    """Coloured noise (n, 3, length) scaled to unit standard deviation above 1 Hz."""
    f = np.fft.rfftfreq(length, 1 / SAMPLING_RATE_HZ)
    shape = (1.0 / np.sqrt(1 + (f / p.noise_corner_hz) ** 2)
             + p.noise_microseism * 8 * np.exp(-0.5 * ((f - 0.2) / 0.08) ** 2)
             + p.noise_hf * (f > 10))
    shape[0] = 0.0
    band = f >= 1.0
    scale = np.sqrt(length / 2 / np.sum(shape[band] ** 2)) if band.any() else 1.0
    white = rng.standard_normal((n, 3, length))
    return np.fft.irfft(np.fft.rfft(white, axis=-1) * shape * scale, n=length, axis=-1)


def make_waveforms(cat: pd.DataFrame, p: RegionProfile, rng: np.random.Generator) -> np.ndarray:
    """Three-component traces (n, 3, L) in E, N, Z order for picks of equal ``trace_samples``."""
    length = int(cat["trace_samples"].iloc[0])
    n = len(cat)
    fs = SAMPLING_RATE_HZ
    t = (np.arange(length)[None, :] - cat["onset_sample"].to_numpy()[:, None]) / fs  # seconds after onset
    after = t >= 0
    tt = np.where(after, t, 0.0)
    f0 = p.f0_hz_m2 * 10 ** (-(cat["magnitude"].to_numpy() - 2) / 3)
    tstar = cat["travel_time_s"].to_numpy() / p.q
    f_eff = np.clip(f0 / (1 + np.pi * f0 * tstar), 1.0, 20.0)[:, None]
    rise = np.where(cat["impulsive"], 0.005, 0.08 + 0.15 * rng.random(n))[:, None]
    amp = (10 ** (cat["snr_db"].to_numpy() / 20) * 2.0)[:, None]  # noise std 1; x2: peak vs std of a pulse
    rad = cat["radiation_amplitude"].to_numpy()[:, None]
    pulse = np.sin(2 * np.pi * f_eff * tt) * np.exp(-1.2 * f_eff * tt) * (1 - np.exp(-tt / rise)) * after
    # scattered P coda: sign-free, growing in after the direct pulse, decaying over a few seconds
    coda_t = np.maximum(tt - 0.1, 0.0)
    coda_env = (1 - np.exp(-coda_t / 0.2)) * np.exp(-coda_t / 2.0)
    coda = rng.standard_normal((n, length)) * coda_env * 0.08
    p_wave = amp * (rad * pulse + coda)
    ts = cat["travel_time_s"].to_numpy()[:, None] * (VP_VS - 1)
    s_t = np.maximum(tt - ts, 0.0)
    s_wave = amp * 2.5 * np.exp(-s_t / 3.0) * (tt > ts) * _noise(rng, p, n, length)[:, 0, :] * 0.6
    incidence = np.radians(25.0)
    az = np.radians(cat["azimuth_deg"].to_numpy())[:, None]
    x = _noise(rng, p, n, length)
    x[:, 2, :] += p_wave * np.cos(incidence) + 0.3 * s_wave
    x[:, 0, :] += p_wave * np.sin(incidence) * np.sin(az) + s_wave * np.cos(az)
    x[:, 1, :] += p_wave * np.sin(incidence) * np.cos(az) - s_wave * np.sin(az)
    x[:, 2, :] *= np.where(cat["reversed"], -1.0, 1.0)[:, None]
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
                 on_batch: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Write a synthetic ``region`` in its published layout under ``out``; returns (and writes) the truth."""
    if region not in PROFILES:
        raise ConfigError(f"unknown region {region!r}; expected one of {', '.join(REGIONS)}")
    if layout not in ("native", "seisbench"):
        raise ConfigError(f"unknown layout {layout!r}; expected native or seisbench")
    profile = PROFILES[region]
    rng = np.random.default_rng(seed)
    cat = make_catalogue(profile, n_events, rng)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not (out / SYNTH_MARKER).is_file():
        raise DataError(f"{out}: exists and is not a synthetic region written by `attpd data synth` (no "
                        f"{SYNTH_MARKER}); refusing to write into it (a published data set lives there?)")
    out.mkdir(parents=True, exist_ok=True)
    writer = {"ins": _write_instance, "hinet": _write_hinet, "scsn": _write_scsn, "pnw": _write_pnw}[region]
    truth = writer(cat, profile, rng, out, layout=layout, batch_size=batch_size, bucket_size=bucket_size,
                   on_batch=on_batch or (lambda done, total: None))
    truth.to_csv(out / TRUTH_FILE, index=False)
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
            "true_sign", "reversed", "recorded_sign", "analyst_label", "label_error", "snr_db", "clarity",
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


SCSN_TRAIN_EVENT_SHARE = 0.7


def _write_scsn(cat, p, rng, out, *, layout, batch_size, bucket_size, on_batch):
    """Train = the earlier ``SCSN_TRAIN_EVENT_SHARE`` of the events, balanced by subsampling each class to the
    rarest (as Ross et al. did); test = the later events at their natural balance. With down the rarest class
    (~15 %) about 45 % of the train events' picks are kept, so the train file ends up about as large as the
    test file, as published (2.49 M and 2.35 M traces)."""
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
            h5["sncls"] = (sel["network"] + "." + sel["station"] + ".EHZ").to_numpy().astype("S")
        names[sel.index] = [f"{path.stem}${i}" for i in range(len(sel))]
    names[~written] = ""
    return _truth(cat, names, written=written, file=part)
