"""SKHASH's polarity rows of a polarity source: a trace's codes and its signed weight (+ up, - down, |w| <= 1).

The one place where the suite's labels and a model's probabilities become SKHASH's signs: a test follows a
label from the store to SKHASH's ``+``/``-`` through here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attpd_bench.data.labels import DOWN, UP

BLANK_CODE = "--"  # SKHASH's (and FDSN's) blank location; also written for a channel a layout never names


def match_codes(meta: pd.DataFrame) -> pd.DataFrame:
    """network, station, location, channel of each trace, blanks as ``--`` (SKHASH reads a blank as NaN)."""
    # a blank code is NaN in a string column (pandas keeps NaN through astype(str) there): filled first
    code = lambda column: meta[column].fillna("").astype(str).str.strip().to_numpy()  # noqa: E731
    codes = pd.DataFrame({"network": code("station_network_code"), "station": code("station_code"),
                          "location": code("station_location_code"), "channel": code("station_channel_code")})
    return codes.replace({"": BLANK_CODE, "nan": BLANK_CODE})


def polarity_table(meta: pd.DataFrame, weight: np.ndarray) -> pd.DataFrame:
    """SKHASH's polarity rows of the traces with a non-zero weight (positive = up, |weight| <= 1)."""
    keep = np.asarray(weight) != 0
    table = pd.concat([pd.DataFrame({"event_id": meta["source_id"].astype(str).to_numpy()}),
                       match_codes(meta)], axis=1)
    table["p_polarity"] = np.round(np.asarray(weight, dtype=np.float64), 4)
    return table[keep].reset_index(drop=True)


def model_weights(probabilities: np.ndarray, min_probability: float = 0.0) -> np.ndarray:
    """SKHASH weights of a model's predictions: +p_up for up, -p_down for down, 0 for unknown or for a
    prediction less probable than ``min_probability``: an unsure pick counts less, or not at all."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    sure = probabilities.max(axis=1) >= min_probability
    return np.select([(predicted == UP) & sure, (predicted == DOWN) & sure],
                     [probabilities[:, UP], -probabilities[:, DOWN]], 0.0)


def label_weights(labels: np.ndarray) -> np.ndarray:
    """+1 up, -1 down, 0 unknown (or unlabelled)."""
    labels = np.asarray(labels)
    return np.select([labels == UP, labels == DOWN], [1.0, -1.0], 0.0)
