"""EQPolarity: the compact convolutional transformer of Chen et al. (2024, IEEE TGRS), binary up/down.

Layer sizes from the authors' code (github.com/chenyk1990/eqpolarity, ``eqpolarity/utils.py``: ``construct_model``):
600 samples (6 s at 100 Hz, P at sample 300); a tokenizer of two Conv1D(200, 4, same, no bias, ReLU, He normal)
each followed by MaxPool1D(3, stride 2, same) (600 -> 150 tokens of 200); four transformer blocks (LayerNorm
eps 1e-5 -> MultiHeadAttention(4 heads, key_dim 200, dropout 0.2) -> stochastic depth -> residual; LayerNorm ->
MLP Dense(200, GELU)/Dropout(0.2) x 2 -> stochastic depth -> residual), stochastic-depth rates rising linearly
from 0 to 0.1 over the blocks; LayerNorm -> Flatten -> Dropout(0.2) -> Dense(1, sigmoid). 3,086,401 parameters at
the defaults (the count of those layer sizes; the paper publishes none). ``band`` (:mod:`models.band`): where the
model abstains on the suite's three-class bench (0: never, as published). The whole stored window is the model's,
so it takes no time-shift augmentation.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from attpd_bench.models.band import PolarityBand


@keras.saving.register_keras_serializable(package="attpd")
class StochasticDepth(layers.Layer):
    """Drops a residual branch for a whole example with probability ``rate`` while training (Huang et al. 2016),
    scaling the kept ones by 1 / (1 - rate)."""

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        mask = ops.floor(keep + keras.random.uniform(shape, seed=self.generator))
        return x / keep * mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def build_eqpolarity(input_shape=(600, 1), projection_dim: int = 200, num_heads: int = 4, transformer_layers: int = 4,
                     dropout: float = 0.2, stochastic_depth: float = 0.1, band: float = 0.0) -> keras.Model:
    inp = keras.Input(shape=input_shape, name="input")
    x = inp
    for k in range(2):
        x = layers.Conv1D(projection_dim, 4, padding="same", use_bias=False, activation="relu",
                          kernel_initializer="he_normal", name=f"tokenizer_conv_{k + 1}")(x)
        x = layers.MaxPooling1D(3, strides=2, padding="same", name=f"tokenizer_pool_{k + 1}")(x)
    for k, rate in enumerate(np.linspace(0.0, stochastic_depth, transformer_layers)):
        normed = layers.LayerNormalization(epsilon=1e-5, name=f"block_{k + 1}_norm_1")(x)
        attended = layers.MultiHeadAttention(num_heads=num_heads, key_dim=projection_dim, dropout=dropout,
                                             name=f"block_{k + 1}_attention")(normed, normed)
        x = layers.Add(name=f"block_{k + 1}_residual_1")([StochasticDepth(float(rate))(attended), x])
        y = layers.LayerNormalization(epsilon=1e-5, name=f"block_{k + 1}_norm_2")(x)
        for j in range(2):
            y = layers.Dense(projection_dim, activation="gelu", name=f"block_{k + 1}_mlp_{j + 1}")(y)
            y = layers.Dropout(dropout)(y)
        x = layers.Add(name=f"block_{k + 1}_residual_2")([StochasticDepth(float(rate))(y), x])
    x = layers.LayerNormalization(epsilon=1e-5, name="representation_norm")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    up = layers.Dense(1, activation="sigmoid", name="up")(x)
    return keras.Model(inp, PolarityBand(band, name="po")(up), name="eqpolarity")
