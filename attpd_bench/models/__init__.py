"""The polarity models: the four of the original work, selectable by name or by the original function name, and
the field's published pickers (issue 37), each declaring its input convention once (``ModelSpec.convention``).

Defaults reproduce the original exactly (parameter counts are tested). ``MODEL_SPECS`` holds what training
needs to know of each: input shape, outputs, loss, early-stopping monitor. Keras loads only when a model is built
or loaded (``builder``, ``CUSTOM_OBJECTS``), so a command checks its options before TensorFlow's five-second import.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np

from attpd_bench.errors import ConfigError


@dataclass(frozen=True)
class InputConvention:
    """What a model reads, declared once per architecture: ``samples`` of the vertical trace at 100 Hz with P at
    sample ``p_index``, cut from the store's 600 (P at 300) and divided by its max-abs. Every command cuts each
    model's own window from the same stored traces (:meth:`windows`), so models of different input lengths are
    scored on the same picks. ``max_shift``: the largest window shift (augmentation, test-time shifts) that keeps
    the window inside the stored trace."""
    samples: int = 400
    p_index: int = 200

    def __post_init__(self):
        from attpd_bench.data.preprocess import STORE_P_SAMPLE, STORE_SAMPLES

        if not (0 <= self.p_index <= STORE_P_SAMPLE and self.samples - self.p_index <= STORE_SAMPLES - STORE_P_SAMPLE):
            raise ValueError(f"a {self.samples}-sample window with P at {self.p_index} does not fit the store's "
                             f"{STORE_SAMPLES} samples with P at {STORE_P_SAMPLE}")

    @property
    def max_shift(self) -> int:
        from attpd_bench.data.preprocess import STORE_P_SAMPLE, STORE_SAMPLES

        return min(STORE_P_SAMPLE - self.p_index, STORE_SAMPLES - STORE_P_SAMPLE - (self.samples - self.p_index))

    def windows(self, stored: np.ndarray, shift: np.ndarray | int = 0) -> np.ndarray:
        """Stored (n, 600) -> (n, samples), normalised (:func:`preprocess.model_windows`)."""
        from attpd_bench.data.preprocess import model_windows

        return model_windows(stored, shift, samples=self.samples, p_index=self.p_index)


ORIGINAL_CONVENTION = InputConvention()  # the original work's 400 samples, P at 200 (4 s around P)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder_name: str  # module:function inside attpd_bench.models
    input_shape: tuple
    original_name: str  # the function of the original code that builds it ("" for the field's other pickers)
    outputs: tuple[str, ...] = ("po",)
    loss: tuple[str, ...] = ("categorical_crossentropy",)
    monitor: str = "val_accuracy"
    has_attention: bool = True
    convention: InputConvention = ORIGINAL_CONVENTION
    classes: int = 3  # 2: an up/down picker, trained on the up and down traces only (models.band)

    def __post_init__(self):
        if self.input_shape[0] != self.convention.samples:
            raise ValueError(f"{self.name}: input shape {self.input_shape} does not match its convention's "
                             f"{self.convention.samples} samples")

    @property
    def builder(self) -> Callable:
        module, function = self.builder_name.split(":")
        import_keras()
        return getattr(importlib.import_module(f"attpd_bench.models.{module}"), function)


MODEL_SPECS = {
    "pd": ModelSpec("pd", "pd:build_pd", (400, 1), "bulid_pd_model"),
    "ross": ModelSpec("ross", "ross:build_ross", (400, 1), "cnn_ross", has_attention=False),
    "pp": ModelSpec("pp", "pp:build_pp", (400, 1), "bulid_pp_model", outputs=("pk", "po"),
                    loss=("mse", "categorical_crossentropy"), monitor="val_loss"),
    "pd2d": ModelSpec("pd2d", "pd2d:build_pd2d", (400, 1, 1), "pd_model"),
    # the field's published pickers (issue 37): their own windows, cut from the same stored traces
    "cfm": ModelSpec("cfm", "cfm:build_cfm", (160, 1), "", has_attention=False,
                     convention=InputConvention(samples=160, p_index=80), classes=2),
    "eqpolarity": ModelSpec("eqpolarity", "eqpolarity:build_eqpolarity", (600, 1), "", has_attention=False,
                            convention=InputConvention(samples=600, p_index=300), classes=2),
}
ALIASES = {spec.original_name: name for name, spec in MODEL_SPECS.items() if spec.original_name}
MODEL_NAMES = tuple(MODEL_SPECS)


@functools.cache
def import_keras():
    """Keras, imported once with its own progress bars off: "1/1 ━━━━ 0s 149ms/step" would reach the console from
    calls the suite does not make itself (MLflow predicts its input example when logging a model)."""
    import keras

    keras.utils.disable_interactive_logging()
    return keras


@functools.cache
def custom_objects() -> dict:
    """The layers Keras needs named to load a saved model (the attention layer, under both its names)."""
    import_keras()
    from attpd_bench.models.attention import SeqSelfAttention

    from attpd_bench.models.band import PolarityBand
    from attpd_bench.models.eqpolarity import StochasticDepth

    return {"SeqSelfAttention": SeqSelfAttention, "attpd>SeqSelfAttention": SeqSelfAttention,
            "PolarityBand": PolarityBand, "attpd>PolarityBand": PolarityBand,
            "StochasticDepth": StochasticDepth, "attpd>StochasticDepth": StochasticDepth}


def __getattr__(name: str):
    """``CUSTOM_OBJECTS`` and ``SeqSelfAttention`` import Keras: loaded on first use (PEP 562)."""
    if name == "CUSTOM_OBJECTS":
        return custom_objects()
    if name == "SeqSelfAttention":
        return custom_objects()["SeqSelfAttention"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_spec(name: str) -> ModelSpec:
    key = ALIASES.get(name, name)
    if key not in MODEL_SPECS:
        raise ConfigError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)} "
                          f"(or the original names {', '.join(ALIASES)})")
    return MODEL_SPECS[key]


def hyperparameter_names(name: str) -> tuple[str, ...]:
    params = inspect.signature(model_spec(name).builder).parameters
    return tuple(p for p in params if p != "input_shape")


def model_defaults(name: str) -> dict:
    """The original configuration: each tunable hyper-parameter's default value."""
    params = inspect.signature(model_spec(name).builder).parameters
    return {p: params[p].default for p in hyperparameter_names(name)}


def build_model(name: str, **hyperparameters):
    """A fresh, uncompiled Keras model; unknown hyper-parameters are an error, None means 'default'."""
    spec = model_spec(name)
    allowed = hyperparameter_names(name)
    unknown = sorted(set(hyperparameters) - set(allowed))
    if unknown:
        raise ConfigError(f"model {spec.name!r} has no hyper-parameter {', '.join(unknown)}; "
                          f"it takes {', '.join(allowed)}")
    given = {k: v for k, v in hyperparameters.items() if v is not None}
    try:
        return spec.builder(input_shape=spec.input_shape, **given)
    except (ValueError, TypeError) as exc:  # a value the architecture cannot take (a band of 0.7, units "a")
        raise ConfigError(f"model {spec.name!r}: {str(exc).splitlines()[0][:300]}") from None


def as_model_input(windows: np.ndarray, input_shape: tuple) -> np.ndarray:
    """(n, samples) -> (n, *input_shape), e.g. (n, 400, 1) or (n, 400, 1, 1) for pd2d."""
    return windows.reshape((len(windows), *input_shape))


def convention_of(model) -> InputConvention:
    """The input convention of a built or loaded model: its architecture's (the Keras model carries the
    architecture's name), else the one convention of that input length (an ensemble, a file of another name)."""
    spec = MODEL_SPECS.get(getattr(model, "name", None))
    if spec is not None:
        return spec.convention
    samples = tuple(model.input_shape)[1]
    matching = {s.convention for s in MODEL_SPECS.values() if s.convention.samples == samples}
    if len(matching) != 1:
        raise ConfigError(f"model {getattr(model, 'name', '?')!r} reads {samples}-sample windows: "
                          + ("no architecture of the suite does" if not matching else
                             "several architectures do, with different conventions; name it after one of them"))
    return matching.pop()


def polarity_output(out):
    """The polarity head of a prediction: the last output of a two-output model (pp: pick, polarity)."""
    return out[-1] if isinstance(out, (list, tuple)) else out


def polarity_probabilities(model, stored: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """The suite's one way from stored windows to polarity probabilities: (n, 600) store samples, P at 300 ->
    the model's own window (:func:`convention_of`) -> (n, 3) float64 (up, down, unknown), the polarity
    head of a two-output model. Every command that predicts (evaluate, predict, sim-to-real, audits) comes here."""
    if len(stored) == 0:
        return np.empty((0, 3), dtype=np.float64)
    x = as_model_input(convention_of(model).windows(stored), tuple(model.input_shape[1:]))
    return np.asarray(polarity_output(model.predict(x, batch_size=batch_size, verbose=0)), dtype=np.float64)


@dataclass(frozen=True)
class WindowShifts:
    """Inference as RPNet runs it: the window moved by ``count`` random shifts of up to ``max_samples`` either way
    around the pick (a pick error the model should not care about), the probabilities averaged and their spread
    kept. ``seed`` fixes the shifts."""
    count: int = 0  # 0: off
    max_samples: int = 10  # 0.1 s at 100 Hz
    seed: int = 0

    def check(self, model) -> InputConvention:
        """The model's convention, once its window is known to take shifts this large."""
        convention = convention_of(model)
        if self.max_samples > convention.max_shift:
            raise ConfigError(f"--shift-samples {self.max_samples} moves the model's {convention.samples}-sample "
                              f"window outside the stored trace (at most {convention.max_shift})")
        return convention

    def __post_init__(self):
        if self.count < 0 or self.max_samples < 0:
            raise ConfigError(f"--shifts and --shift-samples must be at least 0, got {self.count} and "
                              f"{self.max_samples}")


def shifted_probabilities(model, stored: np.ndarray, shifts: WindowShifts, *,
                          batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(mean probabilities (n, 3), spread (n,)) over ``shifts.count`` random shifts of each window: the spread is
    the standard deviation of p(up) - p(down), the signed polarity, across the shifts (0: the pick's exact place
    does not matter to the model). A shift the model's window cannot take is refused."""
    convention = shifts.check(model)
    rng = np.random.default_rng(shifts.seed)
    shape = tuple(model.input_shape[1:])
    draws = []
    for _ in range(shifts.count):
        offset = rng.integers(-shifts.max_samples, shifts.max_samples + 1, len(stored))
        x = as_model_input(convention.windows(stored, offset), shape)
        draws.append(np.asarray(polarity_output(model.predict(x, batch_size=batch_size, verbose=0)), np.float64))
    stacked = np.stack(draws)  # (count, n, 3)
    return stacked.mean(axis=0), (stacked[..., 0] - stacked[..., 1]).std(axis=0)


def load_model(model_uri: str):
    """A model from a file path or any MLflow model URI (through :mod:`tracking`, the one module that imports
    MLflow); ``first-motion`` is the untrained baseline."""
    from pathlib import Path

    from attpd_bench.models.first_motion import FIRST_MOTION, FirstMotionPicker

    if model_uri == FIRST_MOTION:
        return FirstMotionPicker()
    if Path(model_uri).exists():
        return load_model_file(Path(model_uri))
    from attpd_bench import tracking

    import_keras()  # with its progress bars off, before MLflow loads the model
    return tracking.load_keras_model(model_uri)


def load_model_file(path):
    """A Keras model saved as ``.keras`` or HDF5 (the original code's format), with the attention layer."""
    from attpd_bench.errors import DataError

    try:
        return import_keras().models.load_model(path, custom_objects=custom_objects(), compile=False)
    except Exception as exc:  # Keras raises many types for a foreign or broken file
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        hint = ""
        if "time_major" in str(exc):  # Keras 2's LSTM argument: a file of the original code
            hint = ("; a Keras 2 file of the original code: bring its weights into the suite's architecture with "
                    "`attpd import-h5 --file FILE --model pd|ross|pp|pd2d --dataset NAME`, then use the registered "
                    "model")
        raise DataError(f"{path}: not a loadable Keras model ({first}){hint}") from None


def load_original_weights(path, name: str):
    """The project's ``name`` architecture with the weights of a file saved by the original code (Keras 2 HDF5:
    a full ``model.save`` file or a ``_wt`` weights file), loaded layer by layer in topological order."""
    import warnings
    from pathlib import Path

    import h5py

    from attpd_bench.errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if not h5py.is_hdf5(path):
        raise DataError(f"{path}: not an HDF5 file (expected a Keras 2 .h5 model or weights file)")
    model = build_model(name)
    check_weight_layers(path, model, name)
    try:
        with warnings.catch_warnings():  # Keras warns layer by layer before it raises; the error says it all
            warnings.simplefilter("ignore", UserWarning)
            model.load_weights(path)
    except (ValueError, KeyError, OSError) as exc:
        raise DataError(f"{path}: does not fit the {model_spec(name).name!r} architecture "
                        f"({str(exc).splitlines()[0][:200]})") from None
    return model


def check_weight_layers(path, model, name: str) -> None:
    """Before Keras loads a Keras 2 HDF5 file into ``model`` (layer by layer, in order): the file's layers that
    hold weights, in order, against the architecture's, shape by shape; a clear error names the first pair that
    does not fit. A file without Keras 2's layer list is left to Keras."""
    import h5py

    from attpd_bench.errors import DataError

    with h5py.File(path, "r") as h5:
        group = h5["model_weights"] if "model_weights" in h5 else h5
        if "layer_names" not in group.attrs:
            return
        theirs = []
        for layer in (n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["layer_names"]):
            names = [w.decode() if isinstance(w, bytes) else str(w) for w in group[layer].attrs["weight_names"]]
            if names:
                theirs.append((layer, [tuple(group[layer][w].shape) for w in names]))
    ours = [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers if layer.weights]
    for (their_name, their_shapes), (our_name, our_shapes) in zip(theirs, ours):
        if their_shapes != our_shapes:
            raise DataError(f"{path}: does not fit the {name!r} architecture: its layer {their_name!r} holds "
                            f"weights {', '.join(map(str, their_shapes))} where the architecture's layer "
                            f"{our_name!r} has {', '.join(map(str, our_shapes))}")
    if len(theirs) != len(ours):
        extra = theirs[len(ours)][0] if len(theirs) > len(ours) else ours[len(theirs)][0]
        raise DataError(f"{path}: does not fit the {name!r} architecture: it holds {len(theirs)} layers with weights, "
                        f"the architecture {len(ours)} (the first without a counterpart: {extra!r})")


__all__ = ["ALIASES", "CUSTOM_OBJECTS", "InputConvention", "MODEL_NAMES", "MODEL_SPECS", "ModelSpec",
           "ORIGINAL_CONVENTION", "SeqSelfAttention", "as_model_input", "build_model", "check_weight_layers",
           "convention_of", "custom_objects", "hyperparameter_names", "import_keras", "load_model", "load_model_file",
           "load_original_weights", "model_defaults", "model_spec", "polarity_output", "polarity_probabilities",
           "shifted_probabilities", "WindowShifts"]
