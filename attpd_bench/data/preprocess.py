"""Preprocessing exactly as the original work, vectorised over whole batches.

Long raw traces (INSTANCE, Hi-net, PNW): a 100-sample cosine taper at both ends, a 2nd-order Butterworth
band-pass 1-45 Hz applied forward-backward (``filtfilt``), then the 600-sample cut with P at sample 300.
SCSN traces are already cut and are stored unchanged. The model window is 400 samples [P-200, P+200) of the
stored 600, divided by its max-abs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLING_RATE_HZ = 100.0
STORE_SAMPLES = 600
STORE_P_SAMPLE = 300
WINDOW_SAMPLES = 400
TAPER_SAMPLES = 100
BANDPASS_HZ = (1.0, 45.0)
BANDPASS_ORDER = 2


@lru_cache(maxsize=64)
def original_taper(n_samples: int, taper_samples: int = TAPER_SAMPLES) -> np.ndarray:
    """The original ``_taper(data, 1, 100)`` window: Hann rise ``0.5 - 0.5 cos(pi (i-1) / N)`` for i < N
    at the start, its mirror at the end, ones between. The ``i-1`` is the original's (its first sample is not
    exactly zero); kept so stored windows match the published models' inputs."""
    win = np.ones(n_samples)
    i = np.arange(min(taper_samples, n_samples))
    win[: len(i)] = 0.5 - 0.5 * np.cos(np.pi / taper_samples * (i - 1))
    return win * win[::-1]


@lru_cache(maxsize=8)
def _butter(order: int, low_hz: float, high_hz: float, sampling_rate: float):
    from scipy import signal  # here, not at import: a command that only opens a store skips its second of import

    dt = 1.0 / sampling_rate
    return signal.butter(order, [low_hz * 2 * dt, high_hz * 2 * dt], "bandpass")


def bandpass(traces: np.ndarray, sampling_rate: float = SAMPLING_RATE_HZ) -> np.ndarray:
    """Zero-phase Butterworth band-pass along the last axis (scipy ``filtfilt``, the original's call)."""
    from scipy import signal

    b, a = _butter(BANDPASS_ORDER, *BANDPASS_HZ, sampling_rate)
    return signal.filtfilt(b, a, traces, axis=-1)


def cut_around(traces: np.ndarray, p_samples: np.ndarray, before: int, after: int) -> np.ndarray:
    """Rows ``traces[i, p_i - before : p_i + after]`` as one (n, before + after) array, without a loop."""
    offsets = np.asarray(p_samples, dtype=np.int64)[:, None] + np.arange(-before, after)[None, :]
    return np.take_along_axis(traces, offsets, axis=1)


def p_in_range(p_samples: np.ndarray, n_samples, before: int = STORE_P_SAMPLE,
               after: int = STORE_SAMPLES - STORE_P_SAMPLE) -> np.ndarray:
    """True where the cut [p - before, p + after) lies inside a trace of ``n_samples``."""
    p = np.asarray(p_samples)
    return (p - before >= 0) & (p + after <= np.asarray(n_samples))


def preprocess_long(traces: np.ndarray, p_samples: np.ndarray) -> np.ndarray:
    """Taper + band-pass whole raw traces (n, L), then cut 600 samples with P at 300 -> float32 (n, 600)."""
    x = traces.astype(np.float64, copy=False) * original_taper(traces.shape[-1])
    x = bandpass(x)
    return cut_around(x, p_samples, STORE_P_SAMPLE, STORE_SAMPLES - STORE_P_SAMPLE).astype(np.float32)


def model_windows(stored: np.ndarray, shift: np.ndarray | int = 0, *, samples: int = WINDOW_SAMPLES,
                  p_index: int | None = None) -> np.ndarray:
    """Stored (n, 600) -> model input (n, samples): the window with P at ``p_index`` (the middle by default:
    [P-200+shift, P+200+shift) for the original 400), moved by ``shift``, each divided by its max-abs.

    All-zero windows stay zero (no division by zero)."""
    n = stored.shape[0]
    p_index = samples // 2 if p_index is None else p_index
    start = STORE_P_SAMPLE - p_index + np.broadcast_to(np.asarray(shift, dtype=np.int64), (n,))
    if np.any(start < 0) or np.any(start + samples > stored.shape[1]):
        raise ValueError(f"time shift moves the {samples}-sample window outside the stored trace")
    w = np.take_along_axis(stored, start[:, None] + np.arange(samples)[None, :], axis=1)
    peak = np.max(np.abs(w), axis=1, keepdims=True)
    return (w / np.where(peak > 0, peak, 1.0)).astype(np.float32)
