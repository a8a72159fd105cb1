"""The first-motion baseline: the sign of the first clear excursion after P, no training.

What an analyst does by eye and what every learned picker must beat. On a model window (400 samples, P at
sample 200, max-abs normalised):

* the noise is the largest absolute sample in the second before P (ending 5 samples before it, so a slightly
  late pick does not count the onset as noise);
* the onset is the first sample from 2 samples before P to 0.5 s after it whose absolute value reaches both
  ``2 x`` that noise and 10 % of the window's peak; its sign is the polarity;
* clarity is the first lobe's peak (within 0.1 s of the onset, same sign) over the noise; below 2 the picker
  abstains (unknown), above it P(sign) = 1 - 1/clarity and the rest goes to unknown.

The constants are the rule's definition, fixed before it met any data set. The class answers ``predict`` and
``input_shape`` as a Keras model does, so ``evaluate``, ``transfer``, ``predict`` and ``mechanisms`` take it by the
name ``first-motion`` wherever they take a model URI.
"""

from __future__ import annotations

import numpy as np

from attpd_bench.data.preprocess import WINDOW_SAMPLES

FIRST_MOTION = "first-motion"
P_INDEX = WINDOW_SAMPLES // 2
NOISE_WINDOW = (P_INDEX - 100, P_INDEX - 5)
SEARCH_WINDOW = (P_INDEX - 2, P_INDEX + 50)
LOBE_SAMPLES = 10
NOISE_FACTOR = 2.0
PEAK_FRACTION = 0.1
MIN_CLARITY = 2.0


class FirstMotionPicker:
    """The baseline as a model: ``predict(x)`` on (n, 400[, 1...]) windows -> (n, 3) probabilities up/down/unknown."""

    name = FIRST_MOTION
    input_shape = (None, WINDOW_SAMPLES, 1)
    output_names = ("po",)

    def predict(self, x, batch_size: int | None = None, verbose: int = 0) -> np.ndarray:
        w = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        if w.shape[1] != WINDOW_SAMPLES:
            raise ValueError(f"first-motion: expected windows of {WINDOW_SAMPLES} samples, got {w.shape[1]}")
        peak = np.max(np.abs(w), axis=1)
        noise = np.max(np.abs(w[:, slice(*NOISE_WINDOW)]), axis=1)
        segment = w[:, SEARCH_WINDOW[0]:SEARCH_WINDOW[1] + LOBE_SAMPLES]
        threshold = np.maximum(NOISE_FACTOR * noise, PEAK_FRACTION * peak)
        above = np.abs(segment[:, :SEARCH_WINDOW[1] - SEARCH_WINDOW[0]]) >= threshold[:, None]
        found = above.any(axis=1) & (peak > 0)
        first = np.argmax(above, axis=1)
        rows = np.arange(len(w))
        sign = np.sign(segment[rows, first])
        lobe = segment[rows[:, None], first[:, None] + np.arange(LOBE_SAMPLES)[None, :]] * sign[:, None]
        clarity = np.max(lobe, axis=1) / np.maximum(noise, 1e-6 * np.maximum(peak, 1e-30))
        decided = found & (clarity >= MIN_CLARITY)
        p_sign = np.where(decided, 1.0 - 1.0 / np.maximum(clarity, 1.0), 0.0)
        out = np.zeros((len(w), 3))
        out[:, 0] = np.where(sign > 0, p_sign, 0.0)
        out[:, 1] = np.where(sign < 0, p_sign, 0.0)
        out[:, 2] = 1.0 - out[:, 0] - out[:, 1]
        return out.astype(np.float32)
