"""Training: the original defaults, early stopping on the dev split, dev/test metrics, one complete MLflow run.

``fit`` is the Keras part (seeded, deterministic on the CPU); ``train_and_log`` wraps it in a run that records
everything DESIGN.md lists (params, tags, per-epoch curves, the store as input, final metrics, figures, model).
"""

from __future__ import annotations

import ast
import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from attpd_bench import metrics as M
from attpd_bench import plots, tracking
from attpd_bench.console import console
from attpd_bench.data.labels import DOWN, UP
from attpd_bench.data.store import PolarityStore
from attpd_bench.errors import ConfigError, DataError
from attpd_bench.models import CUSTOM_OBJECTS, build_model, model_defaults, model_spec
from attpd_bench.pipeline import evaluation_dataset, predict_probabilities, training_dataset
from attpd_bench.settings import DEV_EPOCH_METRICS, PipelineConfig, TrainConfig

EpochHook = Callable[[int, dict], None]
FINAL_METRICS = ("accuracy", "macro_f1", "sign_accuracy", "sign_coverage", "precision_up", "recall_up", "f1_up",
                 "precision_down", "recall_down", "f1_down", "precision_unknown", "recall_unknown", "f1_unknown",
                 "Pre_U", "Pre_D", "Pre_K", "Re_U", "Re_D", "Re_K")


@dataclass
class FitResult:
    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    seconds: float
    samples_per_epoch: int


def set_determinism(seed: int) -> None:
    """Same seed, same command -> same weights and metrics on the CPU."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def use_one_thread() -> None:
    """One TensorFlow thread in this process, for processes that train side by side on a small machine, each on
    a core of its own. Before the process's first TensorFlow operation; later calls find it set and do nothing."""
    if tf.config.threading.get_intra_op_parallelism_threads() != 1:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def _normalised(logs: dict) -> dict:
    """pp reports po_accuracy / val_po_accuracy; the contract's names are accuracy / val_accuracy."""
    out = dict(logs)
    for prefix in ("", "val_"):
        if f"{prefix}po_accuracy" in logs:
            out[f"{prefix}accuracy"] = logs[f"{prefix}po_accuracy"]
    return {k: float(v) for k, v in out.items()}


class _Epochs(keras.callbacks.Callback):
    """Rich progress per epoch and the caller's per-epoch hook (MLflow curves, Optuna pruning)."""

    def __init__(self, epochs: int, hooks: list[EpochHook], update, dev: tuple | None = None, label: str = ""):
        super().__init__()
        self.epochs, self.hooks, self.update, self.dev = epochs, hooks, update, dev
        self.prefix = f"{label} " if label else ""  # parallel trials' lines interleave: say whose epoch it is
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        if self.dev is not None and logs is not None:
            # dev macro-F1 / sign accuracy per epoch, added to Keras' own logs so that early stopping (which
            # runs after this callback) can monitor them too
            x, labels = self.dev
            out = self.model.predict(x, batch_size=1024, verbose=0)
            report = M.classification_report(labels, (out[-1] if isinstance(out, list) else out).argmax(axis=1))
            logs.update({f"val_{k}": report[k] for k in ("macro_f1", "sign_accuracy")})
        logs = _normalised(logs or {})
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        self.update(epoch + 1, self.epochs)
        console.log(f"{self.prefix}epoch {epoch + 1}: " + " ".join(f"{k} {v:.4f}" for k, v in logs.items()
                                                      if k in ("loss", "accuracy", "val_loss", "val_accuracy")))
        for hook in self.hooks:
            hook(epoch, logs)


def fit(store: PolarityStore, config: TrainConfig, *, on_epoch: list[EpochHook] | tuple = (),
        callbacks: tuple = (), dev_metrics_each_epoch: bool = False, label: str = "") -> FitResult:
    """Train on the store's train split, early-stopping on its dev split; best weights restored.

    ``dev_metrics_each_epoch`` adds ``val_macro_f1`` and ``val_sign_accuracy`` to every epoch's logs (one extra
    prediction over dev per epoch), so they can be tuned and pruned on; monitoring one of them turns it on.
    ``label`` (the run's name) starts each epoch line, so that parallel trials' lines tell whose they are."""
    from attpd_bench.console import progress

    config = config.resolved()
    dev_metrics_each_epoch = dev_metrics_each_epoch or config.monitor in DEV_EPOCH_METRICS
    spec = model_spec(config.model)
    set_determinism(config.seed)
    model = build_model(spec.name, **config.hyperparameters)
    if config.init_from is not None:
        start_from(model, config.init_from, freeze=config.freeze)
    with_pick = "pk" in spec.outputs
    signs = (UP, DOWN) if spec.classes == 2 else None  # a two-class model learns from up and down traces only
    train_ds, n = training_dataset(store, "train", PipelineConfig(batch_size=config.batch_size, flip=config.augment,
                                                                  time_shift=config.time_shift, seed=config.seed),
                                   spec.input_shape, with_pick=with_pick, convention=spec.convention,
                                   labels=signs)
    dev_ds = evaluation_dataset(store, "dev", spec.input_shape, config.batch_size, with_pick=with_pick,
                                convention=spec.convention, labels=signs)
    if with_pick:
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                      loss={"pk": spec.loss[0], "po": config.loss}, metrics={"po": ["accuracy"]})
    else:
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=config.loss,
                      metrics=["accuracy"])
    stopper = keras.callbacks.EarlyStopping(monitor=_keras_monitor(config.monitor, with_pick),
                                            mode=config.monitor_mode, patience=config.patience,
                                            restore_best_weights=True)
    start = time.perf_counter()
    with progress(f"train {spec.name}", total=config.epochs) as update:
        dev = None
        if dev_metrics_each_epoch:  # on the whole dev split, as it is scored at the end (a two-class model: by band)
            every = dev_ds if signs is None else evaluation_dataset(store, "dev", spec.input_shape, config.batch_size,
                                                                   with_pick=with_pick, convention=spec.convention)
            dev = (np.concatenate([x.numpy() for x, _ in every]), store.labels("dev"))
        epochs = _Epochs(config.epochs, list(on_epoch), update, dev, label=label)
        model.fit(train_ds, validation_data=dev_ds, epochs=config.epochs, verbose=0, shuffle=False,  # the data set
                  # shuffles itself, by the seed
                  callbacks=[epochs, stopper, *callbacks])
    best = stopper.best_epoch if stopper.best_weights is not None else len(epochs.history.get("loss", [])) - 1
    return FitResult(model, epochs.history, int(best), len(epochs.history.get("loss", [])),
                     time.perf_counter() - start, n)


def start_from(model: keras.Model, model_uri: str, *, freeze: bool) -> None:
    """Fine-tuning: ``model`` takes the weights of the model at ``model_uri`` (same architecture and
    hyper-parameters); with ``freeze`` every layer before the first dense one (the feature extractor) is frozen."""
    from pathlib import Path

    from attpd_bench.models import load_model_file

    parent = load_model_file(Path(model_uri)) if Path(model_uri).exists() else tracking.load_keras_model(model_uri)
    mine, theirs = model.get_weights(), parent.get_weights()
    if len(mine) != len(theirs) or any(a.shape != b.shape for a, b in zip(mine, theirs)):
        raise ConfigError(f"--init-from {model_uri}: its architecture differs from {model.name!r} with these "
                          f"hyper-parameters (give the same --model and sizes as the parent's run)")
    model.set_weights(theirs)
    if freeze:
        for layer in model.layers:
            if isinstance(layer, keras.layers.Dense):
                break
            layer.trainable = False


def _keras_monitor(monitor: str, with_pick: bool) -> str:
    if with_pick and monitor in ("val_accuracy", "accuracy"):
        return monitor.replace("accuracy", "po_accuracy")
    return monitor


@dataclass
class SplitScores:
    labels: np.ndarray
    probabilities: np.ndarray
    report: dict

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)


def score_split(model, store: PolarityStore, split: str, model_name: str) -> SplitScores:
    probs = predict_probabilities(model, store, split)
    labels = store.labels(split)
    return SplitScores(labels, probs, M.classification_report(labels, probs.argmax(axis=1)))


@dataclass
class TrainOutcome:
    run_id: str
    model_uri: str | None
    fit: FitResult
    dev: SplitScores
    test: SplitScores | None  # None for tuning trials


def train_and_log(store: PolarityStore, config: TrainConfig, *, run_name: str | None = None,
                  experiment: str | None = None, tags: dict | None = None, parent_run_id: str | None = None,
                  on_epoch: tuple = (), callbacks: tuple = (),
                  killed_on: tuple = (), dev_metrics_each_epoch: bool = False,
                  score_test: bool = True) -> TrainOutcome:
    """``fit`` inside one MLflow run (tracking must be configured); the run never stays RUNNING.

    ``score_test=False`` (tuning trials) never touches the test split: selection sees dev only."""
    config = config.resolved()
    for split in ("train", "dev"):  # checked before a run exists: a refused request leaves no FAILED run
        if len(store.rows(split)) == 0:
            raise DataError(f"{store.path}: the {split!r} split is empty (the event split of a store of one or two "
                            f"events); give the store more events, or prepare it with --split-mode original (a "
                            f"random trace split within its events: optimistic, their traces are not independent)")
    tags = {**tracking.standard_tags(model=config.model, dataset=store.dataset, store_fingerprint=store.fingerprint,
                                     seed=config.seed, train_config=config.digest(), kind="training",
                                     **store.identity_tags()),
            **(tags or {})}
    with tracking.run(experiment or tracking.experiment_name("train", store.dataset), run_name, tags,
                      parent_run_id=parent_run_id, killed_on=killed_on) as log:
        log.log_params({**config.params(), "store": str(store.path.resolve()),
                        "n_train": len(store.rows("train")), "n_dev": len(store.rows("dev")),
                        "n_test": len(store.rows("test"))})
        log.log_store_input(store)
        result = fit(store, config, on_epoch=(log.log_epoch, *on_epoch), callbacks=callbacks, label=run_name or "",
                     dev_metrics_each_epoch=dev_metrics_each_epoch)
        dev = score_split(result.model, store, "dev", config.model)
        test = score_split(result.model, store, "test", config.model) if score_test else None
        for name, scores in (("dev", dev), ("test", test)):
            if scores is None:
                continue
            undefined = log.log_metrics({k: scores.report[k] for k in FINAL_METRICS}, prefix=f"{name}_")
            if undefined:
                log.log_params({f"{name}_undefined_metrics": ",".join(undefined)})
            log.log_dict(scores.report, f"metrics/{name}.json")
            log.log_figure(plots.confusion_matrix_figure(scores.report["confusion"],
                                                         f"{config.model} on {store.dataset} {name}"),
                           f"figures/confusion_{name}.png")
        log.log_metrics({"best_epoch": result.best_epoch + 1, "epochs_run": result.epochs_run,  # 1-based
                         "train_seconds": result.seconds,
                         "train_examples_per_epoch": result.samples_per_epoch,
                         "train_samples_per_s": result.samples_per_epoch * result.epochs_run / result.seconds})
        log.log_figure(plots.learning_curves(result.history, result.best_epoch, f"{config.model} on {store.dataset}"),
                       "figures/learning_curves.png")
        spec = model_spec(config.model)
        example = next(iter(evaluation_dataset(store, "dev", spec.input_shape, 4, convention=spec.convention)))[0]
        model_uri = tracking.log_keras_model(result.model, example.numpy(), CUSTOM_OBJECTS)
        run_id = log.run_id
    return TrainOutcome(run_id, model_uri, result, dev, test)


def find_finished_run(store: PolarityStore, config: TrainConfig):
    """A finished run that trained this configuration on this store (same fingerprint) and kept its model: a
    training run, or a study's trial (the study trains the untuned configuration as its trial 0); or None."""
    config = config.resolved()
    for stage in ("train", "tune"):
        runs = tracking.search_runs(
            tracking.experiment_name(stage, store.dataset),
            f"tags.model = '{config.model}' and tags.store_fingerprint = '{store.fingerprint}' and "
            f"tags.train_config = '{config.digest()}' and attributes.status = 'FINISHED'")
        found = next((r for r in runs if "model_uri" in r.data.tags), None)
        if found is not None:
            return found
    return None


def config_from_params(params: dict) -> TrainConfig:
    """The configuration a training run logged (:meth:`TrainConfig.params`, read back from MLflow as strings,
    beside the run's other parameters such as ``store`` and ``n_train``): fields by their declared types, the
    model's own parameters as Python literals."""
    if "model" not in params:
        raise ConfigError("the run logged no training configuration (no 'model' parameter)")
    fields = {f.name: f.type for f in dataclasses.fields(TrainConfig) if f.name != "hyperparameters"}
    defaults = model_defaults(params["model"])
    values = {key: _parsed(raw, fields[key]) for key, raw in params.items() if key in fields}
    hyperparameters = {key: _literal(raw) for key, raw in params.items() if key in defaults}
    return TrainConfig(**values, hyperparameters=hyperparameters).resolved()


def _literal(raw):
    try:
        return ast.literal_eval(str(raw))
    except (ValueError, SyntaxError):
        return str(raw)


def _parsed(raw, declared: str):
    """One logged value back to ``declared`` (a type's name, as the dataclass annotations spell it)."""
    text = str(raw)
    if text == "None" and "None" in declared:
        return None
    if declared.startswith("bool"):
        return text == "True"
    if declared.startswith("int"):
        return int(text)
    if declared.startswith("float"):
        return float(text)
    return text
