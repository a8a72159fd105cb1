"""The label contract: 0 = up (compressional), 1 = down (dilatational), 2 = unknown. Everywhere.

Source codes are mapped here, at the reader, and nowhere else:

* INSTANCE and PNW ``positive`` / ``negative`` / ``undecidable``;
* SCSN ``Y`` already holds 0/1/2;
* Hi-net ``p_status``: ``P`` -> up, ``k`` -> unknown, any other non-blank code -> down. That last rule is the
  original code's; we keep it so results stay comparable, but a *blank* status is treated as missing (the
  trace is skipped and counted), never as down.

A blank or unrecognised code is never given a label: ``INVALID`` marks it, the reader skips the trace and the
prepare report counts it (the original code labelled PNW's 115 blank polarities as down).
"""

from __future__ import annotations

import numpy as np

UP, DOWN, UNKNOWN = 0, 1, 2
INVALID = -1
CLASS_NAMES = ("up", "down", "unknown")
CLASS_LETTERS = ("U", "D", "K")
N_CLASSES = 3

POLARITY_WORDS = {"positive": UP, "negative": DOWN, "undecidable": UNKNOWN}


def _as_clean_strings(values) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for i, v in enumerate(arr):  # object arrays: one pass, no pandas lookups
        out[i] = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
    return out


def labels_from_words(values) -> np.ndarray:
    """INSTANCE / PNW polarity words -> labels; blank or unknown words -> INVALID."""
    words = _as_clean_strings(values)
    lower = np.char.lower(words.astype(str))
    labels = np.full(len(words), INVALID, dtype=np.int8)
    for word, label in POLARITY_WORDS.items():
        labels[lower == word] = label
    return labels


def labels_from_hinet_status(values) -> np.ndarray:
    """Hi-net ``p_status`` -> labels by the original rule; blank -> INVALID."""
    codes = _as_clean_strings(values).astype(str)
    labels = np.full(len(codes), DOWN, dtype=np.int8)
    labels[codes == "P"] = UP
    labels[codes == "k"] = UNKNOWN
    labels[codes == ""] = INVALID
    return labels


def label_names(labels: np.ndarray) -> np.ndarray:
    """0/1/2 -> 'up'/'down'/'unknown'."""
    return np.asarray(CLASS_NAMES, dtype=object)[np.asarray(labels, dtype=int)]
