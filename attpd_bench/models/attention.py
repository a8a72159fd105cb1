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
