"""PP: picking + polarity (``bulid_pp_model``): the PD encoder, an up-sampling decoder to the pick mask 'pk'
(400, 1, sigmoid) and the polarity head 'po'. 967,973 parameters at the defaults."""

from __future__ import annotations

import keras
from keras import layers

from attpd_bench.models.attention import SeqSelfAttention


def build_pp(input_shape=(400, 1), classes: int = 3, filter_size: int = 3, filters=(16, 32, 64),
             dense_units: int = 128, lstm_units: int | None = None, attention_width: int = 20,
             attention_units: int = 32, bn_momentum: float = 0.99) -> keras.Model:
    inp = keras.Input(shape=input_shape, name="input")
    x = inp
    for n_filters, kernel in zip(filters, (filter_size + 2, filter_size, filter_size)):
        x = layers.Conv1D(n_filters, kernel, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
    x = layers.LSTM(units=lstm_units or filters[2] * 2, return_sequences=True)(x)
    att, _ = SeqSelfAttention(units=attention_units, return_attention=True, attention_width=attention_width,
                              attention_activation="relu", name="Atten")(x)
    # the decoder's layers come before the polarity head, as in the original: a Keras 2 weights file is read in
    # this layer order (which is why the head shared by PD and PD2D is not used here)
    y = att
    for n_filters in reversed(filters):
        y = layers.UpSampling1D(2)(y)
        y = layers.Conv1D(n_filters, filter_size, padding="same", activation="relu")(y)
        y = layers.BatchNormalization(momentum=bn_momentum)(y)
    pick = layers.Conv1D(1, filter_size, padding="same", activation="sigmoid", name="pk")(y)
    x = layers.Flatten()(att)
    x = layers.Dense(dense_units, activation="relu")(x)
    polarity = layers.Dense(classes, activation="softmax", name="po")(x)
    return keras.Model(inp, [pick, polarity], name="pp")
