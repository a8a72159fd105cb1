"""A deep ensemble (Lakshminarayanan et al. 2017) as one Keras model: the mean of its members' polarity
probabilities.

Members are trainings of architectures that share an input convention (the same input shape), e.g. one
configuration trained with several seeds. The ensemble is an ordinary functional Keras model with input ``input``
and output ``po``, saved and loaded like any other (``.keras`` file, MLflow model), so it is usable wherever a
model URI is: evaluate, predict, mechanisms, the sim-to-real tables. Two-output members (``pp``) contribute
their polarity head.
"""

from __future__ import annotations

from attpd_bench.errors import ConfigError
from attpd_bench.models import import_keras


def deep_ensemble(members: list, *, name: str = "ensemble"):
    """One Keras model averaging the polarity probabilities of ``members`` (at least two, one input shape)."""
    keras = import_keras()
    if len(members) < 2:
        raise ConfigError(f"an ensemble needs at least two members, got {len(members)}")
    shapes = {tuple(m.input_shape[1:]) for m in members}
    if len(shapes) != 1:
        raise ConfigError(f"ensemble members must share one input shape, got {sorted(shapes)}")
    inputs = keras.Input(shape=shapes.pop(), name="input")
    heads = []
    for k, member in enumerate(members):
        # a copy under its own name: Keras needs unique layer names inside one model, and the caller's model
        # stays untouched
        clone = keras.models.clone_model(member)
        clone.set_weights(member.get_weights())
        clone.name = f"member_{k}"
        out = clone(inputs)
        heads.append(out[-1] if isinstance(out, (list, tuple)) else out)
    mean = keras.layers.Average(name="po")(heads)
    return keras.Model(inputs, mean, name=name)
