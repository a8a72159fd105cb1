"""PD: the attention polarity model of Zhang, Li & Zhang (2023), ``bulid_pd_model`` in the original code.

conv(16,5)/pool/BN -> conv(32,3)/pool/BN -> conv(64,3)/pool/BN -> LSTM(128) -> SeqSelfAttention 'Atten'
(width 20, relu) -> Flatten -> Dense(128, relu) -> 'po' softmax(3). 935,108 parameters at the defaults.
``bn_momentum`` is BatchNormalization's moving-average momentum (0.99, the original's Keras default).
"""

from __future__ import annotations

import keras
from keras import layers

from attpd_bench.models.attention import attention_polarity_head


def build_pd(input_shape=(400, 1), classes: int = 3, dense_units: int = 128, lstm_units: int = 128,
             attention_width: int = 20, attention_units: int = 32, filters=(16, 32, 64),
             bn_momentum: float = 0.99) -> keras.Model:
    inp = keras.Input(shape=input_shape, name="input")
    x = inp
    for n_filters, kernel in zip(filters, (5, 3, 3)):
        x = layers.Conv1D(n_filters, kernel, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
    _, out = attention_polarity_head(x, lstm_units=lstm_units, attention_units=attention_units,
                                     attention_width=attention_width, dense_units=dense_units, classes=classes)
    return keras.Model(inp, out, name="pd")
