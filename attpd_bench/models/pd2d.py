"""PD2D (``pd_model``): a 2-D convolutional encoder (strided by 4 in time) -> LSTM -> attention -> 'po'.

Input (400, 1, 1). 289,748 parameters at the defaults."""

from __future__ import annotations

import keras
from keras import layers

from attpd_bench.models.attention import attention_polarity_head


def _conv_bn(x, filters: int, kernel, strides, momentum: float):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same")(x)
    x = layers.BatchNormalization(axis=3, momentum=momentum)(x)
    return layers.LeakyReLU(negative_slope=0.1)(x)


def build_pd2d(input_shape=(400, 1, 1), classes: int = 3, nb_filter: int = 8, kernel_size=(7, 1), depths: int = 5,
               dense_units: int = 128, attention_width: int = 20, attention_units: int = 32,
               bn_momentum: float = 0.99) -> keras.Model:
    inp = keras.Input(shape=input_shape, name="input")
    net = _conv_bn(inp, nb_filter, kernel_size, (1, 1), bn_momentum)
    filters = nb_filter
    for depth in range(depths):
        filters = int(2 ** depth * nb_filter)
        net = _conv_bn(net, filters, kernel_size, (1, 1), bn_momentum)
        if depth < depths - 1:
            net = _conv_bn(net, filters, kernel_size, (4, 1), bn_momentum)
    net = layers.Reshape((net.shape[1], net.shape[3]))(net)
    _, out = attention_polarity_head(net, lstm_units=filters, attention_units=attention_units,
                                     attention_width=attention_width, dense_units=dense_units, classes=classes)
    return keras.Model(inp, out, name="pd2d")
