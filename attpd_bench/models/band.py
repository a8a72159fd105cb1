"""A two-class (up/down) picker on the suite's three-class bench: its sigmoid probability of "up" becomes the
three probabilities (up, down, unknown) every command reads.

Outside a band around 0.5 the picker answers: (p, 1 - p, 0). Inside it (|p - 0.5| < ``band``) it abstains:
(0, 0, 1). The band is a hyper-parameter like any other (chosen on dev by a study, logged with the run, saved in
the model); 0 is the authors' use, a binary model that always answers. While training the band is off, so the
categorical cross-entropy on up/down traces is the authors' binary cross-entropy; unknown traces never reach a
two-class model's training (:mod:`pipeline`, ``labels``)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="attpd")
class PolarityBand(keras.layers.Layer):
    def __init__(self, band: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= band < 0.5:
            raise ValueError(f"the abstention band must lie in [0, 0.5), got {band}")
        self.band = float(band)

    def call(self, probability_up, training=None):
        up = probability_up[:, :1]
        answers = ops.concatenate([up, 1.0 - up, ops.zeros_like(up)], axis=-1)
        if training:
            return answers
        abstain = ops.cast(ops.abs(up - 0.5) < self.band, up.dtype)
        return answers * (1.0 - abstain) + ops.concatenate([ops.zeros_like(up), ops.zeros_like(up), abstain], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 3)

    def get_config(self):
        return {**super().get_config(), "band": self.band}
