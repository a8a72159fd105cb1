"""Physical vertical-component P seismograms: source, path, site, instrument and noise, in SI units.

One trace is the ground velocity of a P arrival recorded by a velocity sensor, plus the station's noise:

* **Source.** Brune's (1970) omega-square moment-rate spectrum ``M0 / (1 + i f/fc)^2`` (the causal pulse
  ``M0 wc^2 t exp(-wc t)``), seismic moment ``M0 = 10^(1.5 Mw + 9.1)`` N m, P corner frequency
  ``fc = 0.42 beta (stress_drop / M0)^(1/3)`` (Madariaga 1976, k = 0.32 for P; Shearer, *Introduction to
  Seismology*, 9.5): Mw 2 -> ~20 Hz, Mw 4 -> ~2 Hz at 3 MPa. An event larger than a few of its smallest
  resolvable patches ruptures as a **composite source** (Zeng, Anderson & Yu 1994; Frankel 1991): subevents of
  the same stress drop with radii distributed as ``N(>r) ~ r^-2`` between the smallest resolvable patch (corner
  frequency 40 Hz) and half the fault radius (Eshelby ``R = (7 M0 / 16 stress_drop)^(1/3)``), scattered over the
  fault until their moments add up to M0, each a Brune pulse that starts when the rupture front, spreading from
  the hypocentre at 0.8 beta, reaches it. The rupture begins with the smallest patch at the hypocentre (the
  seismic nucleation phase, Ellsworth & Beroza 1995): the first motion of a large event is a small pulse of the
  event's sign followed, over the rupture's duration, by larger swings of both signs in velocity, while a small
  event stays one impulsive pulse. (No directivity: every station sees the same rupture times.)
* **Path.** Far-field amplitude ``R M0 / (4 pi rho alpha^3 r)`` (Aki & Richards 4.97) with the signed radiation
  pattern R, geometric spreading 1/r on the hypocentral distance, a free-surface factor 2 at surface stations,
  and anelastic attenuation ``exp(-pi f t*)`` with ``t* = travel time / Qp + kappa`` made *minimum phase*
  (folded real cepstrum), so the attenuated pulse is causal: nothing arrives before P.
* **P coda.** The Green's function is the direct spike (the radiation pattern) followed by sign-free energy:
  a few discrete near-source and near-surface reverberations in the first ~0.6 s and a scattered coda whose
  envelope builds up over a distance-dependent rise time (envelopes broaden with distance; Tripathi, Sato &
  Yamamoto 2010) and decays over seconds (Aki & Chouet 1975), filled with delayed copies of the source pulse,
  so later peaks exceed a small first motion as in real records; above ~1 Hz scattering keeps P energy at nodal
  stations (Takemura et al. 2016), which is why the coda does not follow the radiation pattern. Borehole stations
  (Hi-net) see the surface ghost, a same-sign copy 2h/Vp later. The S wave follows at ``(Vp/Vs - 1) T``.
* **Instrument.** A velocity sensor, normalised to 1 in its passband: Hi-net's 1 Hz geophone (poles
  -4.40 +- 4.49i rad/s, damping 0.70) or a 120 s broadband (flat in velocity 0.0083-50 Hz), as the
  network's type; recorded at 100 Hz behind a causal 40 Hz anti-alias filter (minimum phase, as recorders
  offer for onset work), converted to counts by a per-station sensitivity.
* **Noise.** Gaussian noise with a velocity spectrum between Peterson's (1993) new low and high noise models
  (ObsPy's ``get_nlnm`` / ``get_nhnm``), at a level per station (0 = NLNM, 1 = NHNM, in dB) and a little
  variation per trace; the acceleration PSD is held at its 0.1 s value above 10 Hz, where the models stop.
  Borehole sensors are quieter above 5 Hz (3-20 dB; a fixed reduction per profile). The instrument shapes the
  noise as it shapes the signal, so the signal-to-noise ratio *follows* from magnitude, distance, attenuation
  and the station's noise instead of being drawn.

All numbers come from the literature cited beside each (``../shared/REFERENCE.md`` collects them); none was
chosen by looking at real traces' labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sfft
from scipy import signal

from attpd_bench.data.preprocess import BANDPASS_HZ, SAMPLING_RATE_HZ

RHO_KG_M3 = 2700.0  # crustal density at the source
MADARIAGA_K_P = 0.42  # fc_P = 0.42 beta (stress_drop / M0)^(1/3) in SI units (Madariaga 1976, k = 0.32)
VP_VS = 1.73
ANTI_ALIAS_HZ, ANTI_ALIAS_POLES = 40.0, 4  # 0.4 of the 100 Hz sampling rate, a minimum-phase recorder option
PULSE_SAMPLES = 1024  # 10.24 s: the slowest pulse (Mw 5, the catalogues' largest: a rupture of ~1-2 s, then the
# 1 Hz geophone's ringing, ~2 s at damping 0.7) has decayed well within it


def seismic_moment(magnitude) -> np.ndarray:
    """M0 in N m from moment magnitude (Hanks & Kanamori 1979)."""
    return 10 ** (1.5 * np.asarray(magnitude, dtype=float) + 9.1)


def corner_frequency(magnitude, stress_drop_pa, beta_m_s) -> np.ndarray:
    """P-wave corner frequency (Hz) of Brune's model with Madariaga's constant."""
    return MADARIAGA_K_P * np.asarray(beta_m_s) * (np.asarray(stress_drop_pa) / seismic_moment(magnitude)) ** (1 / 3)


# ------------------------------------------------------------------------------------------ rupture
MADARIAGA_K = 0.32  # fc_P = k beta / r for a circular crack of radius r (Madariaga 1976)
RUPTURE_SPEED = 0.8  # of the shear-wave speed (Zeng, Anderson & Yu 1994; typical 0.7-0.9)
SUBEVENT_MAX_FC_HZ = 40.0  # the smallest patch worth resolving: its pulse is a spike at 100 Hz behind the
# 40 Hz anti-alias filter; smaller ones would only add the same spike
MAX_SUBEVENTS = 1500  # a hard bound on an event's subevents: the smallest patch grows with the fault (from Mw ~4.8)
# so that ~(R / r_min)^2 of them fill it, and the draw is cut at this count whatever the random radii


def source_radius(magnitude, stress_drop_pa) -> np.ndarray:
    """Fault radius (m) of a circular crack (Eshelby 1957): stress_drop = 7 M0 / (16 R^3)."""
    return (7 * seismic_moment(magnitude) / (16 * np.asarray(stress_drop_pa))) ** (1 / 3)


@dataclass(frozen=True)
class Rupture:
    """One event's composite source: per subevent its share of the moment, corner frequency and start time;
    subevent 0 is the nucleation at the hypocentre (start 0)."""

    share: np.ndarray
    fc_hz: np.ndarray
    start_s: np.ndarray

    def spectrum(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Moment-rate spectrum per unit moment (1 at f = 0)."""
        f = np.asarray(freqs_hz)[None, :]
        terms = (self.share[:, None] * np.exp(-2j * np.pi * f * self.start_s[:, None])
                 / (1.0 + 1j * f / self.fc_hz[:, None]) ** 2)
        return terms.sum(axis=0)


def composite_rupture(rng: np.random.Generator, *, magnitude: float, stress_drop_pa: float,
                      beta_m_s: float) -> Rupture:
    """Subevents of one event (see the module docstring); a single Brune pulse when the fault is smaller than
    two of its smallest patches."""
    radius = float(source_radius(magnitude, stress_drop_pa))
    smallest = MADARIAGA_K * beta_m_s / SUBEVENT_MAX_FC_HZ
    largest = radius / 2
    if largest <= smallest:
        fc = float(corner_frequency(magnitude, stress_drop_pa, beta_m_s))
        return Rupture(share=np.ones(1), fc_hz=np.array([fc]), start_s=np.zeros(1))
    smallest = max(smallest, radius / np.sqrt(MAX_SUBEVENTS))  # ~ (R / r_min)^2 subevents fill the fault
    # radii from N(>r) ~ r^-2 on [smallest, largest] by inversion, drawn until their moments (~ r^3) fill R^3
    batch = int(4 * (radius / smallest) ** 2) + 16
    u = rng.random(batch)
    radii = smallest / np.sqrt(1 - u * (1 - (smallest / largest) ** 2))
    radii = np.concatenate([[smallest], radii])
    filled = np.cumsum(radii ** 3)
    radii = radii[:min(int(np.searchsorted(filled, radius ** 3)) + 1, MAX_SUBEVENTS)]
    # centres uniform on the fault disc, the hypocentre anywhere within its inner 70 %
    def on_disc(n, r):
        rho, phi = r * np.sqrt(rng.random(n)), rng.uniform(0, 2 * np.pi, n)
        return np.stack([rho * np.cos(phi), rho * np.sin(phi)], axis=1)
    hypocentre = on_disc(1, 0.7 * radius)
    centres = np.concatenate([hypocentre, on_disc(len(radii) - 1, radius)])
    start = np.hypot(*(centres - hypocentre).T) / (RUPTURE_SPEED * beta_m_s)
    moments = radii ** 3
    return Rupture(share=moments / moments.sum(), fc_hz=MADARIAGA_K * beta_m_s / radii, start_s=start)


def source_spectra(ruptures: dict, events: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """(n, f) moment-rate spectra of the traces' events (``ruptures`` by event key), each event's once."""
    keys, inverse = np.unique(events, return_inverse=True)
    per_event = np.stack([ruptures[k].spectrum(freqs_hz) for k in keys])
    return per_event[inverse]


@dataclass(frozen=True)
class Instrument:
    """An analog velocity sensor: two zeros at the origin and a pair of poles; flat (1) above its corner."""

    name: str
    poles_rad_s: tuple[complex, complex]
    channel: str  # SEED band + instrument code of the vertical channel

    def response(self, freqs_hz: np.ndarray) -> np.ndarray:
        s = 2j * np.pi * np.asarray(freqs_hz)
        p1, p2 = self.poles_rad_s
        return s * s / ((s - p1) * (s - p2))


SHORT_PERIOD = Instrument("1 Hz geophone (Hi-net: natural period ~1 s, damping 0.70)", (-4.40 + 4.49j, -4.40 - 4.49j),
                          "EHZ")
BROADBAND = Instrument("120 s broadband (flat in velocity 0.0083-50 Hz)", (-0.037 + 0.037j, -0.037 - 0.037j), "HHZ")


# ------------------------------------------------------------------------------------------ noise
@lru_cache(maxsize=1)
def _noise_models() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log10 period and the NLNM / NHNM acceleration PSD (dB re 1 (m/s^2)^2/Hz) on one period grid."""
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

    grid = np.linspace(np.log10(0.1), np.log10(1000.0), 400)
    (low_t, low_db), (high_t, high_db) = get_nlnm(), get_nhnm()  # periods descending
    low = np.interp(grid, np.log10(low_t[::-1]), low_db[::-1])
    high = np.interp(grid, np.log10(high_t[::-1]), high_db[::-1])
    return grid, low, high


def noise_velocity_psd(freqs_hz: np.ndarray, level: np.ndarray, *, borehole_reduction_db: float = 0.0) -> np.ndarray:
    """Ground-velocity PSD ((m/s)^2/Hz), shape (n, f), at noise ``level`` 0 (NLNM) .. 1 (NHNM) in dB."""
    grid, low, high = _noise_models()
    f = np.maximum(np.asarray(freqs_hz, dtype=float), 1e-3)
    log_t = np.clip(np.log10(1 / f), grid[0], grid[-1])  # above 10 Hz: the 0.1 s acceleration level
    lo, hi = np.interp(log_t, grid, low), np.interp(log_t, grid, high)
    acc_db = lo[None, :] + np.asarray(level, dtype=float)[:, None] * (hi - lo)[None, :]
    acc_db = acc_db - borehole_reduction_db * (f > 5.0)[None, :]
    vel_db = acc_db + 20 * np.log10(1 / f / (2 * np.pi))[None, :]
    return 10 ** (vel_db / 10)


def coloured_noise(rng: np.random.Generator, psd: np.ndarray, n_samples: int) -> np.ndarray:
    """Gaussian series (n, n_samples) of one-sided PSD ``psd`` (on the ``rfftfreq(n_samples)`` grid):
    X_k = sqrt(P fs N / 2) (a + ib) / sqrt 2, x = irfft(X)."""
    n = psd.shape[0]
    scale = np.sqrt(psd * SAMPLING_RATE_HZ * n_samples / 4)
    spectrum = scale * (rng.standard_normal((n, psd.shape[1])) + 1j * rng.standard_normal((n, psd.shape[1])))
    spectrum[:, 0] = 0.0
    return sfft.irfft(spectrum, n=n_samples, axis=-1)


# ------------------------------------------------------------------------------------------ pulse
def minimum_phase_attenuation(tstar_s: np.ndarray, n_fft: int) -> np.ndarray:
    """exp(-pi f t*) made minimum phase (causal, onset kept) by folding the real cepstrum; (n, n_fft//2+1)."""
    f = sfft.rfftfreq(n_fft, 1 / SAMPLING_RATE_HZ)
    log_amp = -np.pi * np.asarray(tstar_s, dtype=float)[:, None] * f[None, :]
    cep = sfft.irfft(log_amp, n=n_fft, axis=-1)
    fold = np.zeros(n_fft)
    fold[0] = 1.0
    fold[1:n_fft // 2] = 2.0
    fold[n_fft // 2] = 1.0
    return np.exp(sfft.rfft(cep * fold[None, :], axis=-1))


def velocity_pulse_spectrum(*, source: np.ndarray, tstar_s: np.ndarray, instrument_response: np.ndarray,
                            n_fft: int) -> np.ndarray:
    """Spectrum of the recorded velocity pulse per unit displacement plateau (Omega0 = 1 m s): the source's
    moment-rate spectrum (n, f) on the ``rfftfreq(n_fft)`` grid, minimum-phase attenuation, instrument, d/dt.
    Times ``fs`` so that ``irfft`` gives m/s per (m s)."""
    f = sfft.rfftfreq(n_fft, 1 / SAMPLING_RATE_HZ)
    response = instrument_response if instrument_response.ndim == 2 else instrument_response[None, :]
    return (source * minimum_phase_attenuation(tstar_s, n_fft) * response
            * (2j * np.pi * f)[None, :] * SAMPLING_RATE_HZ)


@lru_cache(maxsize=8)
def _bandpass_sos():
    return signal.butter(2, BANDPASS_HZ, "bandpass", fs=SAMPLING_RATE_HZ, output="sos")


def pulse_measures(*, ruptures: dict, events: np.ndarray, tstar_s, short_period,
                   chunk: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit Omega0, after the analysis band-pass: (peak of the first lobe, peak of the pulse, pulse L2 norm
    in samples), ``chunk`` traces at a time. The first lobe is what an analyst reads as the first motion."""
    f = sfft.rfftfreq(PULSE_SAMPLES, 1 / SAMPLING_RATE_HZ)
    events, tstar_s, short_period = np.asarray(events), np.asarray(tstar_s), np.asarray(short_period)
    out = np.empty((3, len(events)))
    for lo in range(0, len(events), chunk):
        part = slice(lo, lo + chunk)
        spec = velocity_pulse_spectrum(source=source_spectra(ruptures, events[part], f), tstar_s=tstar_s[part],
                                       instrument_response=instrument_responses(f, short_period[part]),
                                       n_fft=PULSE_SAMPLES)
        out[:, part] = _pulse_measures(sfft.irfft(spec, n=PULSE_SAMPLES, axis=-1))
    return out[0], out[1], out[2]


def _pulse_measures(causal: np.ndarray) -> np.ndarray:
    # the first lobe: from the onset to the first change of sign, on the causal record (the zero-phase band-pass
    # rings before an impulsive onset, which an analyst reads through), from the first sample above 1 % of the
    # pulse's peak (sampling at 100 Hz leaves a little Gibbs ringing; a large event's nucleation pulse is a few
    # per cent of its peak)
    magnitude = np.abs(causal)
    start = np.argmax(magnitude >= 0.01 * magnitude.max(axis=1, keepdims=True), axis=1)[:, None]
    sign0 = np.sign(np.take_along_axis(causal, start, axis=1))
    from_start = np.arange(causal.shape[1])[None, :] >= start
    changed = np.cumsum((np.sign(causal) != sign0) & from_start, axis=1) > 0
    first_lobe = np.max(np.where(from_start & ~changed, magnitude, 0.0), axis=1)
    pulse = signal.sosfiltfilt(_bandpass_sos(), np.concatenate([np.zeros_like(causal[:, :200]), causal], axis=1),
                               axis=-1)[:, 200:]
    return np.stack([first_lobe, np.max(np.abs(pulse), axis=1), np.sqrt(np.sum(pulse ** 2, axis=1))])


@dataclass(frozen=True)
class GreensFunction:
    """What follows the direct P at one station, per trace (arrays of length n)."""

    radiation: np.ndarray  # signed amplitude of the direct spike (radiation pattern, reversed stations flipped)
    coda_level: np.ndarray  # scattered-coda spike std, relative to a unit direct spike
    rise_s: np.ndarray  # coda envelope build-up time
    decay_s: float  # coda envelope decay time
    reverb_level: np.ndarray  # std of the early discrete reverberations
    ghost_delay_s: np.ndarray | None  # borehole ghost (same sign) delay, None at surface stations
    s_delay_s: np.ndarray  # S minus P time
    s_level: np.ndarray  # S coda spike std
    polarity: np.ndarray  # +1, or -1 for a reversed channel (flips everything recorded)


def greens_series(rng: np.random.Generator, g: GreensFunction, onset: np.ndarray, n_samples: int) -> np.ndarray:
    """Spike series (n, n_samples): direct spike at ``onset``, then reverberations, scattered P coda and S."""
    n = len(onset)
    fs = SAMPLING_RATE_HZ
    t = (np.arange(n_samples)[None, :] - onset[:, None]) / fs
    after = np.maximum(t, 0.0)
    env = (1 - np.exp(-after / g.rise_s[:, None])) * np.exp(-after / g.decay_s) * (t > 0)
    series = rng.standard_normal((n, n_samples)) * env * g.coda_level[:, None]
    s_t = t - g.s_delay_s[:, None]
    s_after = np.maximum(s_t, 0.0)
    series += (rng.standard_normal((n, n_samples)) * (1 - np.exp(-s_after / 0.3)) * np.exp(-s_after / g.decay_s)
               * (s_t > 0) * g.s_level[:, None])
    rows = np.arange(n)
    for _ in range(3):  # early reverberations (depth phases, near-surface layers): sign-free, 0.05-0.6 s
        delay = np.round(rng.uniform(0.05, 0.6, n) * fs).astype(int)
        at = np.clip(onset + delay, 0, n_samples - 1)
        series[rows, at] += rng.standard_normal(n) * g.reverb_level
    if g.ghost_delay_s is not None:
        at = np.clip(onset + np.round(g.ghost_delay_s * fs).astype(int), 0, n_samples - 1)
        series[rows, at] += g.radiation * 0.8  # surface reflection, slightly weakened by attenuation near surface
    series[rows, np.clip(onset, 0, n_samples - 1)] = g.radiation
    return series * g.polarity[:, None]


@lru_cache(maxsize=1)
def _anti_alias():
    return signal.butter(ANTI_ALIAS_POLES, 2 * np.pi * ANTI_ALIAS_HZ, "low", analog=True)


def digitiser_response(freqs_hz: np.ndarray) -> np.ndarray:
    """The recorder's causal (minimum-phase) anti-alias low-pass before sampling at 100 Hz."""
    b, a = _anti_alias()
    return signal.freqs(b, a, 2 * np.pi * np.asarray(freqs_hz))[1]


def instrument_responses(freqs_hz: np.ndarray, short_period: np.ndarray) -> np.ndarray:
    """(n, f) responses of sensor and digitiser: Hi-net-type geophone where ``short_period``, broadband elsewhere."""
    digitiser = digitiser_response(freqs_hz)
    return np.where(np.asarray(short_period, dtype=bool)[:, None],
                    (SHORT_PERIOD.response(freqs_hz) * digitiser)[None, :],
                    (BROADBAND.response(freqs_hz) * digitiser)[None, :])


def p_seismogram(rng: np.random.Generator, *, greens: GreensFunction, omega0_m_s: np.ndarray, ruptures: dict,
                 events: np.ndarray, tstar_s: np.ndarray, short_period: np.ndarray, onset: np.ndarray,
                 n_samples: int) -> np.ndarray:
    """Recorded ground velocity (m/s) without noise, (n, n_samples): the Green's spike series convolved with the
    causal source-path-instrument pulse (zero before the onset); ``ruptures[events[i]]`` is trace i's source."""
    n_fft = sfft.next_fast_len(n_samples + PULSE_SAMPLES, real=True)
    f = sfft.rfftfreq(n_fft, 1 / SAMPLING_RATE_HZ)
    spikes = greens_series(rng, greens, onset, n_samples)
    pulse = velocity_pulse_spectrum(source=source_spectra(ruptures, events, f), tstar_s=tstar_s,
                                    instrument_response=instrument_responses(f, short_period), n_fft=n_fft)
    out = sfft.irfft(sfft.rfft(spikes, n=n_fft, axis=-1) * pulse, n=n_fft, axis=-1)[:, :n_samples]
    return out * np.asarray(omega0_m_s)[:, None]
