"""Ross et al. (2018) polarity CNN, ``cnn_ross`` in the original code.

conv(32,21)/BN/pool -> conv(64,15)/BN/pool -> conv(128,11)/BN/pool -> Flatten -> Dense(512)/BN x2 -> 'po'.
3,668,227 parameters at the defaults. ``bn_momentum``: BatchNormalization's moving-average momentum
(0.99, the original's Keras default).
"""

from __future__ import annotations

import keras
from keras import layers


def build_ross(input_shape=(400, 1), classes: int = 3, dense_units: int = 512,
               bn_momentum: float = 0.99) -> keras.Model:
    inp = keras.Input(shape=input_shape, name="input")
    x = inp
    for n_filters, kernel in ((32, 21), (64, 15), (128, 11)):
        x = layers.Conv1D(n_filters, kernel, padding="same", activation="relu")(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
        x = layers.MaxPooling1D(2)(x)
    x = layers.Flatten()(x)
    for _ in range(2):
        x = layers.Dense(dense_units, activation="relu")(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
    out = layers.Dense(classes, activation="softmax", name="po")(x)
    return keras.Model(inp, out, name="ross")
