"""CFM: the convolutional first-motion classifier of Messuti et al. (2023, trained on INSTANCE), binary up/down.

160 samples (1.6 s at 100 Hz) with P at sample 80. conv(32,5,same)/dropout -> conv(64,4)/pool -> conv(128,3)/pool
-> conv(256,5,same)/dropout -> conv(128,3)/pool -> Flatten -> Dense(50) -> Dense(1, sigmoid), ReLU throughout:
410,981 parameters at the defaults, the count of the authors' Keras model (its summary: 192 + 8,256 + 24,704 +
164,096 + 98,432 + 115,250 + 51). The published use averages several trainings (:mod:`models.ensemble`).
``band`` (:mod:`models.band`): where the model abstains on the suite's three-class bench (0: never, as published).
The window is divided by its max-abs like every model's here; the authors' demeaning and clipping at a multiple of
the pre-P noise is not reproduced yet.
"""

from __future__ import annotations

import keras
from keras import layers

from attpd_bench.models.band import PolarityBand


def build_cfm(input_shape=(160, 1), dense_units: int = 50, dropout: float = 0.2, band: float = 0.0) -> keras.Model:
    inp = keras.Input(shape=input_shape, name="input")
    x = layers.Conv1D(32, 5, padding="same", activation="relu", name="conv_1")(inp)
    x = layers.Dropout(dropout, name="dropout_1")(x)
    x = layers.Conv1D(64, 4, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling1D(2, name="pool_1")(x)
    x = layers.Conv1D(128, 3, activation="relu", name="conv_3")(x)
    x = layers.MaxPooling1D(2, name="pool_2")(x)
    x = layers.Conv1D(256, 5, padding="same", activation="relu", name="conv_4")(x)
    x = layers.Dropout(dropout, name="dropout_2")(x)
    x = layers.Conv1D(128, 3, activation="relu", name="conv_5")(x)
    x = layers.MaxPooling1D(2, name="pool_3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    up = layers.Dense(1, activation="sigmoid", name="up")(x)
    out = PolarityBand(band, name="po")(up)
    return keras.Model(inp, out, name="cfm")
