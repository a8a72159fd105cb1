"""The settings of a training run and of its input pipeline, checked without TensorFlow.

A command validates what it was given (and fails in a second with one line) before TensorFlow's five-second import:
nothing here imports Keras or TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field

from attpd_bench.data.preprocess import STORE_SAMPLES, WINDOW_SAMPLES
from attpd_bench.errors import ConfigError, DataError
from attpd_bench.models import model_spec

MAX_SHIFT = (STORE_SAMPLES - WINDOW_SAMPLES) // 2  # 100: the window never leaves the stored 600 samples


@dataclass(frozen=True)
class PipelineConfig:
    batch_size: int = 1024
    flip: bool = True
    time_shift: int = 0  # max shift in samples (0 = off); at most MAX_SHIFT
    seed: int = 0
    max_in_memory_gb: float = 4.0
    stream_chunk_traces: int = 16384  # stored traces read from HDF5 at a time when streaming

    def __post_init__(self):
        if not 0 <= self.time_shift <= MAX_SHIFT:
            raise DataError(f"--time-shift must be between 0 and {MAX_SHIFT} samples, got {self.time_shift}")
        if self.batch_size < 1:
            raise DataError(f"batch size must be positive, got {self.batch_size}")


#: computed on the dev split after every epoch (one prediction over dev) when monitored or asked for
DEV_EPOCH_METRICS = ("val_macro_f1", "val_sign_accuracy")
#: what early stopping can monitor: Keras' own epoch logs and the dev metrics above
MONITORS = ("val_loss", "val_accuracy", *DEV_EPOCH_METRICS, "loss", "accuracy")


@dataclass(frozen=True)
class TrainConfig:
    """Defaults are the original code's (epochs 500, batch 1024, Adam lr 0.001, patience 20, ...)."""

    model: str = "pd"
    epochs: int = 500
    batch_size: int = 1024
    learning_rate: float = 0.001
    patience: int = 20
    monitor: str | None = None  # one of MONITORS; None: the model's own (val_accuracy; pp: val_loss)
    monitor_mode: str | None = None  # None: min for a loss, max otherwise
    loss: str | None = None  # polarity loss; None: categorical_crossentropy
    augment: bool = True  # the flip augmentation
    time_shift: int = 0  # random window shift, max samples (0 = off)
    seed: int = 0
    hyperparameters: dict = field(default_factory=dict)
    init_from: str | None = None  # a model URI whose weights start the training (fine-tuning; same architecture)
    freeze: bool = False  # with init_from: train only the dense head, the feature layers keep their weights

    def resolved(self) -> "TrainConfig":
        spec = model_spec(self.model)
        for option, value, low in (("--epochs", self.epochs, 1), ("--batch-size", self.batch_size, 1),
                                   ("--patience", self.patience, 0)):
            if value < low:
                raise ConfigError(f"{option} must be at least {low}, got {value}")
        if not 0 < self.learning_rate < math.inf:
            raise ConfigError(f"--learning-rate must be a positive finite number, got {self.learning_rate}")
        PipelineConfig(batch_size=self.batch_size, time_shift=self.time_shift)  # its checks, before a run exists
        if self.time_shift > spec.convention.max_shift:
            raise ConfigError(f"--time-shift {self.time_shift} moves {spec.name}'s {spec.convention.samples}-sample "
                              f"window outside the stored trace: at most {spec.convention.max_shift}")
        monitor = self.monitor or spec.monitor
        if monitor not in MONITORS:
            raise ConfigError(f"unknown monitor {monitor!r}; expected one of {', '.join(MONITORS)} "
                              f"(the val_ metrics are on the dev split)")
        mode = self.monitor_mode or ("min" if monitor.endswith("loss") else "max")
        if mode not in ("min", "max"):
            raise ConfigError(f"monitor mode must be 'min' or 'max', got {mode!r}")
        if self.freeze and self.init_from is None:
            raise ConfigError("--freeze keeps a parent model's feature layers: give --init-from MODEL_URI")
        return dataclasses.replace(self, model=spec.name, monitor=monitor, monitor_mode=mode,
                                   loss=self.loss or spec.loss[-1],
                                   hyperparameters={k: v for k, v in self.hyperparameters.items() if v is not None})

    def params(self) -> dict:
        flat = {k: v for k, v in dataclasses.asdict(self).items() if k != "hyperparameters"}
        if self.init_from is None:  # a training from scratch keeps the digest it had before fine-tuning existed
            flat.pop("init_from"), flat.pop("freeze")
        return {**flat, **self.hyperparameters}

    def digest(self) -> str:
        """Identifies the resolved configuration: runs with the same digest and store are interchangeable."""
        return hashlib.sha256(json.dumps(self.resolved().params(), sort_keys=True).encode()).hexdigest()[:16]


# The reversal audit's defaults, here (no heavy import) so that the CLI's options show them without restating them
REVERSAL_ALPHA = 0.05  # false discovery rate across the stations tested
REVERSAL_MIN_EVENTS = 5  # decided events a station needs before it can be called reversed
