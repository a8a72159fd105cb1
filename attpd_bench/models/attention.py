"""SeqSelfAttention (keras-self-attention 0.51) with independently initialised kernels.

The library passes one initializer instance to every ``add_weight``; an unseeded Keras 3 initializer fixes its
seed when it is constructed, so ``Wt`` and ``Wx`` (and ``Wa``'s first column) start from identical values. Each
kernel here gets its own copy of the initializer: a new seed when unseeded, ``seed + k`` when seeded. The
layer is otherwise the library's, so published weights load into it unchanged.
"""

from __future__ import annotations

import keras
from keras_self_attention import SeqSelfAttention as _LibrarySeqSelfAttention


@keras.saving.register_keras_serializable(package="attpd")
class SeqSelfAttention(_LibrarySeqSelfAttention):
    def build(self, input_shape):
        self._kernels_built = 0
        super().build(input_shape)

    def add_weight(self, *args, initializer=None, **kwargs):
        if initializer is self.kernel_initializer and hasattr(initializer, "get_config"):
            config = dict(initializer.get_config())
            seed = config.get("seed")
            config["seed"] = None if seed is None else int(seed) + self._kernels_built
            self._kernels_built += 1
            initializer = initializer.__class__.from_config(config)
        return super().add_weight(*args, initializer=initializer, **kwargs)


def attention_polarity_head(x, *, lstm_units: int, attention_units: int, attention_width: int, dense_units: int,
                            classes: int):
    """LSTM -> SeqSelfAttention 'Atten' (relu) -> Flatten -> Dense -> 'po' softmax: the head PD and PD2D share.

    Returns ``(attended sequence, polarity output)``."""
    from keras import layers

    x = layers.LSTM(units=lstm_units, return_sequences=True)(x)
    attended, _ = SeqSelfAttention(units=attention_units, return_attention=True, attention_width=attention_width,
                                   attention_activation="relu", name="Atten")(x)
    x = layers.Dense(dense_units, activation="relu")(layers.Flatten()(attended))
    return attended, layers.Dense(classes, activation="softmax", name="po")(x)
