"""Optuna studies: one per (data set, model), defined in ``studies/<dataset>.toml``; every trial an MLflow run.

Study ``<dataset>-<model>``. Storage: by default a journal file (``optuna.journal`` in the working folder), which
several local processes share safely (no SQLite locking); any SQLAlchemy URL (PostgreSQL) lets workers on many
hosts join one study. One parent MLflow run per study in ``attpd/tune/<dataset>``; each trial is a child run
linked with ``parent_run_id`` (never the thread-local run stack); pruned trials end KILLED with their last
per-epoch metrics. The process that *creates* the study creates the parent run and records its id in the
study's user attributes; every other worker (and every rerun) finds it there.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import optuna

from attpd_bench import plots, tracking
from attpd_bench.console import console, verbose
from attpd_bench.data.store import PolarityStore
from attpd_bench.errors import ConfigError
from attpd_bench.models import MODEL_NAMES, hyperparameter_names, model_defaults, model_spec
from attpd_bench.settings import TrainConfig

if TYPE_CHECKING:
    from attpd_bench.train import TrainOutcome

# the suite prints its own line per trial; Optuna's INFO lines would repeat them (`attpd --verbose` shows them)
optuna.logging.set_verbosity(optuna.logging.INFO if verbose() else optuna.logging.WARNING)

DEFAULT_STORAGE = "optuna.journal"
WORKER_ENV = "ATTPD_TUNE_WORKER"  # set in processes started by --workers: they leave the summary to their parent
STORAGE_ENV = "ATTPD_OPTUNA_STORAGE"  # the Optuna storage URL handed to --workers processes (not on their argv)
PARENT_ATTR = "mlflow_parent_run_id"
WORKER_ATTR = "worker"  # "<host>:<pid>" of the process running a trial
WORKERS_PER_HOST = 1000  # local workers of host h get sampler indices h*1000 .. h*1000+K-1
ATTENTION_STEPS = 50  # the PD attention sequence: 400 samples after three 2x poolings
OBJECTIVES = {"dev_macro_f1": ("val_macro_f1", "macro_f1"), "dev_accuracy": ("val_accuracy", "accuracy"),
              "dev_sign_accuracy": ("val_sign_accuracy", "sign_accuracy")}
TRAIN_KEYS = {"learning_rate", "batch_size"}
FAULT_KEYS = ("heartbeat_interval_s", "grace_period_s", "max_retry")


@functools.cache
def all_hyperparameters() -> frozenset[str]:
    """Every model's hyper-parameter names (read off the builders, so Keras loads on the first call)."""
    return frozenset(n for m in MODEL_NAMES for n in hyperparameter_names(m))


def study_sections() -> dict[str, set[str] | None]:
    """The sections of a study file and the keys each allows."""
    return {"study": {"dataset", "objective", "direction", "n_trials", "timeout_s", *FAULT_KEYS},
            "sampler": {"name", "seed", "n_startup_trials"},
            "pruner": {"name", "n_startup_trials", "n_warmup_steps", "min_resource", "reduction_factor"},
            # and any model hyper-parameter (e.g. bn_momentum), fixed for every trial of the study
            "training": {"epochs", "patience", "augment", "time_shift", "batch_size", "learning_rate",
                         *all_hyperparameters()},
            "search": None}


PARAM_KEYS = {"float": {"type", "low", "high", "log"}, "int": {"type", "low", "high", "step", "log"},
              "categorical": {"type", "choices"}}


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: int | None = None
    choices: tuple = ()

    def contains(self, value) -> bool:
        if self.type == "categorical":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            return False
        return self.type == "float" or (float(value).is_integer() and (value - self.low) % (self.step or 1) == 0)

    def suggest(self, trial: optuna.Trial):
        if self.type == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log)
        if self.type == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=self.step or 1, log=self.log)
        return trial.suggest_categorical(self.name, list(self.choices))


@dataclass(frozen=True)
class StudySpec:
    """A validated ``studies/<dataset>.toml``."""

    path: Path
    dataset: str
    objective: str = "dev_macro_f1"
    direction: str = "maximize"
    n_trials: int = 20
    timeout_s: float | None = None
    sampler: dict = field(default_factory=lambda: {"name": "tpe", "seed": 0, "n_startup_trials": 5})
    pruner: dict = field(default_factory=lambda: {"name": "median", "n_startup_trials": 3, "n_warmup_steps": 2})
    training: dict = field(default_factory=dict)
    search: tuple[SearchParam, ...] = ()
    # a worker that stops beating for grace_period_s (killed, machine lost) has its trial failed and retried
    heartbeat_interval_s: int = 60
    grace_period_s: int = 180
    max_retry: int = 2

    name: str | None = None  # overrides "<dataset>-<model>" (e.g. a separate study on shared storage)

    def study_name(self, model: str) -> str:
        return self.name or f"{self.dataset}-{model_spec(model).name}"

    def params_for(self, model: str) -> tuple[SearchParam, ...]:
        """The search space a model has: attention parameters are left out for models without attention."""
        allowed = TRAIN_KEYS | set(hyperparameter_names(model))
        return tuple(p for p in self.search if p.name in allowed)

    def fixed_hyperparameters(self, model: str) -> dict:
        """Model hyper-parameters the [training] section fixes for every trial (those ``model`` has)."""
        return {k: v for k, v in self.training.items() if k in hyperparameter_names(model)}

    def default_params(self, model: str) -> dict:
        """The untuned configuration (the study's [training] values, else the original code's defaults) for
        every searched parameter whose range holds it: a study's first trial, so that every study measures
        the baseline it has to beat."""
        original = TrainConfig()
        defaults = {"learning_rate": self.training.get("learning_rate", original.learning_rate),
                    "batch_size": self.training.get("batch_size", original.batch_size),
                    **model_defaults(model), **self.fixed_hyperparameters(model)}
        return {p.name: defaults[p.name] for p in self.params_for(model)
                if p.name in defaults and p.contains(defaults[p.name])}

    def make_sampler(self, offset: int = 0) -> optuna.samplers.BaseSampler:
        """The sampler, its seed moved by ``offset`` (trials already in the study, worker index) so that a
        resumed study or a parallel worker does not repeat another's proposals; a fresh single run is exactly
        reproducible."""
        s = self.sampler
        seed = None if s.get("seed") is None else int(s["seed"]) + offset
        if s["name"] == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=s.get("n_startup_trials", 5))

    def make_pruner(self) -> optuna.pruners.BasePruner:
        p = self.pruner
        if p["name"] == "none":
            return optuna.pruners.NopPruner()
        if p["name"] == "hyperband":
            return optuna.pruners.HyperbandPruner(min_resource=p.get("min_resource", 1),
                                                  max_resource=self.training.get("epochs", 20),
                                                  reduction_factor=p.get("reduction_factor", 3))
        return optuna.pruners.MedianPruner(n_startup_trials=p.get("n_startup_trials", 3),
                                           n_warmup_steps=p.get("n_warmup_steps", 2))


def load_study_spec(path: Path) -> StudySpec:
    """Read and validate a study file; every error names the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: study file not found")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None

    def fail(msg):
        raise ConfigError(f"{path}: {msg}")

    sections = study_sections()
    for section, value in raw.items():
        if section not in sections:
            fail(f"unknown section [{section}]; expected {', '.join(sections)}")
        if not isinstance(value, dict):
            fail(f"[{section}] must be a table")
        allowed = sections[section]
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    fail(f"unknown key '{key}' in [{section}]; expected one of {', '.join(sorted(allowed))}")
    study = raw.get("study", {})
    if "dataset" not in study:
        fail("[study] needs 'dataset'")
    objective = study.get("objective", "dev_macro_f1")
    if objective not in OBJECTIVES:
        fail(f"unknown objective '{objective}'; expected one of {', '.join(OBJECTIVES)}")
    direction = study.get("direction", "maximize")
    if direction not in ("maximize", "minimize"):
        fail(f"direction must be 'maximize' or 'minimize', got '{direction}'")
    n_trials = study.get("n_trials", 20)
    if not isinstance(n_trials, int) or n_trials < 1:
        fail(f"[study] n_trials must be a positive integer, got {n_trials!r}")
    sampler = {"name": "tpe", "seed": 0, "n_startup_trials": 5, **raw.get("sampler", {})}
    if sampler["name"] not in ("tpe", "random"):
        fail(f"unknown sampler '{sampler['name']}'; expected tpe or random")
    pruner = {"name": "median", "n_startup_trials": 3, "n_warmup_steps": 2, **raw.get("pruner", {})}
    if pruner["name"] not in ("median", "hyperband", "none"):
        fail(f"unknown pruner '{pruner['name']}'; expected median, hyperband or none")
    training = raw.get("training", {})
    for key in ("epochs", "patience"):
        if key in training and (not isinstance(training[key], int) or training[key] < (1 if key == "epochs" else 0)):
            fail(f"[training] {key} must be a {'positive' if key == 'epochs' else 'non-negative'} integer")
    all_hyper = TRAIN_KEYS | all_hyperparameters()
    search = []
    for name, spec in raw.get("search", {}).items():
        where = f"[search.{name}]"
        if name not in all_hyper:
            fail(f"{where}: unknown parameter; expected one of {', '.join(sorted(all_hyper))}")
        kind = spec.get("type")
        if kind not in PARAM_KEYS:
            fail(f"{where}: type must be float, int or categorical, got {kind!r}")
        extra = set(spec) - PARAM_KEYS[kind]
        if extra:
            fail(f"{where}: unknown key(s) {', '.join(sorted(extra))} for a {kind} parameter")
        if kind == "categorical":
            if not spec.get("choices"):
                fail(f"{where}: categorical needs a non-empty 'choices' list")
            search.append(SearchParam(name, kind, choices=tuple(spec["choices"])))
            continue
        low, high = spec.get("low"), spec.get("high")
        if low is None or high is None or not low < high:
            fail(f"{where}: needs low < high, got low={low!r} high={high!r}")
        if spec.get("log") and low <= 0:
            fail(f"{where}: a log range needs low > 0, got {low}")
        if name == "attention_width" and not (1 <= low and high <= ATTENTION_STEPS):
            fail(f"{where}: attention width must lie within the {ATTENTION_STEPS}-step attention sequence")
        search.append(SearchParam(name, kind, low, high, bool(spec.get("log", False)), spec.get("step")))
    faults = {key: study[key] for key in FAULT_KEYS if key in study}
    for key, value in faults.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "max_retry" else 1):
            fail(f"[study] {key} must be a {'non-negative' if key == 'max_retry' else 'positive'} integer, "
                 f"got {value!r}")
    spec = StudySpec(path, study["dataset"], objective, direction, n_trials, study.get("timeout_s"), sampler,
                     pruner, training, tuple(search), **faults)
    if spec.grace_period_s <= spec.heartbeat_interval_s:
        fail(f"[study] grace_period_s ({spec.grace_period_s}) must exceed heartbeat_interval_s "
             f"({spec.heartbeat_interval_s})")
    return spec


# ------------------------------------------------------------------------------------------- storage
def open_storage(storage: str | None, spec: StudySpec | None = None) -> optuna.storages.BaseStorage:
    """A journal file (default, safe for local processes) or an RDB URL (PostgreSQL for many hosts).

    With ``spec``, an RDB storage runs Optuna's heartbeats: a trial whose worker stops beating for the study's
    grace period is failed (its MLflow run too) and retried. A journal file has no heartbeats; there a worker
    fails the trials of dead local processes when it starts (:func:`fail_trials_of_dead_local_workers`)."""
    url = storage or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE
    if "://" in url:
        if spec is None:
            return _rdb_storage(url)
        with warnings.catch_warnings():  # heartbeats are marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return _rdb_storage(url, heartbeat_interval=spec.heartbeat_interval_s,
                                grace_period=spec.grace_period_s,
                                heartbeat_stale_trial_callback=on_failed_trial(spec))
    from optuna.storages.journal import JournalFileBackend

    Path(url).resolve().parent.mkdir(parents=True, exist_ok=True)  # a journal in a new folder, as for --output
    return optuna.storages.JournalStorage(JournalFileBackend(str(Path(url).resolve())))


def _rdb_storage(url: str, attempts: int = 5, **heartbeat) -> optuna.storages.RDBStorage:
    """RDBStorage, retried: workers started at once on an empty database race to create Optuna's tables
    (PostgreSQL then reports a duplicate type or table to the losers)."""
    import sqlalchemy.exc

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True}, **heartbeat)
        except sqlalchemy.exc.OperationalError as exc:
            if "could not connect" in str(exc) or "Connection refused" in str(exc):
                raise ConfigError(f"cannot reach the Optuna storage {tracking.mask_credentials(url)!r}: "
                                  f"{tracking.mask_credentials(str(exc).splitlines()[0])}") from None
            if attempt == attempts - 1:
                raise
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise
        time.sleep(0.5 + random.random())
    raise AssertionError("unreachable")


def open_study(spec: StudySpec, model: str, store: PolarityStore, storage,
               worker_index: int = 0) -> tuple[optuna.Study, str]:
    """Create or load the study; the creator also creates the parent run; others wait for its id."""
    name = spec.study_name(model)
    kwargs = dict(storage=storage, sampler=spec.make_sampler(), pruner=spec.make_pruner(), study_name=name,
                  direction=spec.direction)
    try:
        study = optuna.create_study(**kwargs, load_if_exists=False)
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(storage=storage, study_name=name, sampler=kwargs["sampler"],
                                  pruner=kwargs["pruner"])
        created = False
    if created:
        tags = tracking.standard_tags(model=model_spec(model).name, dataset=store.dataset,
                                      store_fingerprint=store.fingerprint, seed=spec.sampler.get("seed"),
                                      kind="study", optuna_study=name)
        with tracking.run(tracking.experiment_name("tune", store.dataset), name, tags, active=False) as parent:
            parent.log_params({"study": name, "study_file": str(spec.path), "objective": spec.objective,
                               "direction": spec.direction, "sampler": spec.sampler["name"],
                               "pruner": spec.pruner["name"], "storage": _describe(storage)})
        study.set_user_attr("store_fingerprint", store.fingerprint)
        with warnings.catch_warnings():  # experimental in Optuna, and what optuna-dashboard labels axes with
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([spec.objective])
        enqueue_untuned(study, spec, model)
        study.set_user_attr(PARENT_ATTR, parent.run_id)  # last: other workers wait for it
    elif worker_index == 0:  # a resumed study (one process, or the first local worker of the first host)
        enqueue_untuned(study, spec, model)
    deadline = time.monotonic() + 120
    while PARENT_ATTR not in study.user_attrs:  # another process is creating it right now
        if time.monotonic() > deadline:
            raise ConfigError(f"study {name!r} has no parent run id after 120 s (was its creator killed?)")
        time.sleep(0.5)
        study = optuna.load_study(storage=storage, study_name=name, sampler=kwargs["sampler"],
                                  pruner=kwargs["pruner"])
    if study.user_attrs.get("store_fingerprint") != store.fingerprint:
        raise ConfigError(f"study {name!r} was run on store {study.user_attrs.get('store_fingerprint', '?')[:16]}, "
                          f"not {store.fingerprint[:16]}; use another storage or a new study file")
    offset = len(study.trials) + 7919 * worker_index
    study = optuna.load_study(storage=storage, study_name=name, sampler=spec.make_sampler(offset),
                              pruner=kwargs["pruner"])
    return study, study.user_attrs[PARENT_ATTR]


UNTUNED_ORIGIN = "untuned defaults"  # the user attribute "origin" of the trial that measures the baseline


def enqueue_untuned(study: optuna.Study, spec: StudySpec, model: str) -> None:
    """Queue the untuned configuration (the baseline every tuned trial must beat) unless a trial of it is
    waiting, running, complete or pruned: at creation, and again when an interruption (Ctrl-C, a killed worker)
    left it FAIL before it was measured."""
    measured = [t for t in study.get_trials(deepcopy=False)
                if t.user_attrs.get("origin") == UNTUNED_ORIGIN and t.state != optuna.trial.TrialState.FAIL]
    if not measured:
        study.enqueue_trial(spec.default_params(model), user_attrs={"origin": UNTUNED_ORIGIN})


def on_failed_trial(spec: StudySpec):
    """Optuna's callback for a trial failed because its worker died: the trial's MLflow child run is ended
    FAILED with the reason (it would stay RUNNING for ever), then the trial is retried (at most
    ``spec.max_retry`` times) so that the study still reaches its number of complete trials."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=spec.max_retry)

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        reason = (f"worker {trial.user_attrs.get(WORKER_ATTR, '?')} stopped during Optuna trial {trial.number} "
                  f"of study {study.study_name}; the trial was failed and retried")
        runs = tracking.search_runs(tracking.experiment_name("tune", spec.dataset),
                                    f"tags.optuna_study = '{study.study_name}' and "
                                    f"tags.optuna_trial = '{trial.number}' and attributes.status = 'RUNNING'")
        for run in runs:
            tracking.fail_run(run.info.run_id, reason)
        retry(study, trial)
        console.print(f"trial {trial.number} lost its worker: marked failed and queued again", highlight=False)

    return callback


def fail_trials_of_dead_local_workers(study: optuna.Study, spec: StudySpec) -> None:
    """On a storage without heartbeats (the journal file), fail and retry the RUNNING trials of processes of
    this host that no longer exist (a killed local worker). Trials of other hosts are left alone: this host
    cannot tell whether they are alive."""
    host = socket.gethostname()
    callback = on_failed_trial(spec)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker_host, _, pid = trial.user_attrs.get(WORKER_ATTR, "").rpartition(":")
        if worker_host != host or not pid.isdigit() or _process_alive(int(pid)):
            continue
        try:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        except (ValueError, RuntimeError):  # another worker failed it first
            continue
        callback(study, study.trials[trial.number])


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        pass
    return True


def _describe(storage) -> str:
    return tracking.mask_credentials(getattr(storage, "url", None) or type(storage).__name__)


# ------------------------------------------------------------------------------------------- trials
def trial_config(spec: StudySpec, model: str, trial: optuna.Trial, seed: int) -> TrainConfig:
    t = spec.training
    values = {**spec.fixed_hyperparameters(model), **{p.name: p.suggest(trial) for p in spec.params_for(model)}}
    return TrainConfig(model=model, epochs=t.get("epochs", 20), patience=t.get("patience", 5),
                       augment=t.get("augment", True), time_shift=t.get("time_shift", 0),
                       batch_size=values.pop("batch_size", t.get("batch_size", 1024)),
                       learning_rate=values.pop("learning_rate", t.get("learning_rate", 0.001)),
                       seed=seed, monitor=OBJECTIVES[spec.objective][0],
                       monitor_mode="max" if spec.direction == "maximize" else "min", hyperparameters=values)


def objective_fn(spec: StudySpec, model: str, store: PolarityStore, parent_run_id: str, seed: int):
    intermediate, final = OBJECTIVES[spec.objective]

    def objective(trial: optuna.Trial) -> float:
        config = trial_config(spec, model, trial, seed)
        trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")

        def report(epoch: int, logs: dict) -> None:
            value = logs.get(intermediate)
            if value is not None and math.isfinite(value):
                trial.report(value, epoch + 1)  # 1-based epochs, as in MLflow and the figures
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} ({intermediate} {value:.4f})")

        tags = {"optuna_study": trial.study.study_name, "optuna_trial": str(trial.number), "kind": "trial"}
        console.print(f"trial {trial.number}: {trial.params}")
        from attpd_bench.train import train_and_log  # TensorFlow loads with the first trial, after the checks

        try:
            outcome = train_and_log(store, config, run_name=f"trial-{trial.number}",
                                    experiment=tracking.experiment_name("tune", store.dataset), tags=tags,
                                    parent_run_id=parent_run_id, on_epoch=(report,),
                                    killed_on=(optuna.TrialPruned,), dev_metrics_each_epoch=True,
                                    score_test=False)
        except KeyboardInterrupt:  # Optuna ends the trial FAIL: say why (a resumed study enqueues the baseline)
            trial.set_user_attr("end_reason", tracking.INTERRUPTED)
            raise
        trial.set_user_attr("mlflow_run_id", outcome.run_id)
        value = outcome.dev.report[final]
        if not math.isfinite(value):
            raise optuna.TrialPruned(f"{spec.objective} is undefined on this dev split")
        return value

    return objective


class _InterruptedTrialRecords(logging.Filter):
    """Optuna logs a trial that Ctrl-C or SIGTERM ended as a failure, with the whole traceback and a second line
    ("Trial N failed with value None."); the command's own one line says it (cli), so both records are dropped."""

    def __init__(self):
        super().__init__()
        self.interrupted: set[str | None] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        number = re.match(r"Trial (\d+) failed with ", record.getMessage())
        if isinstance(error, KeyboardInterrupt):
            self.interrupted.add(number.group(1) if number else None)
            return False
        return not (number and number.group(1) in self.interrupted)


def optimize(spec: StudySpec, model: str, store: PolarityStore, storage_url: str | None, *, n_trials: int,
             timeout: float | None = None, seed: int = 0, worker_index: int = 0) -> optuna.Study:
    """Run ``n_trials`` trials in this process (one worker)."""
    storage = open_storage(storage_url, spec)
    study, parent = open_study(spec, model, store, storage, worker_index)
    if not isinstance(storage, optuna.storages.RDBStorage):  # no heartbeats on a journal file
        fail_trials_of_dead_local_workers(study, spec)
    records = _InterruptedTrialRecords()
    optuna_log = logging.getLogger("optuna")
    for handler in optuna_log.handlers:  # Optuna's own handler: a filter on the logger misses its children
        handler.addFilter(records)
    try:
        study.optimize(objective_fn(spec, model, store, parent, seed), n_trials=n_trials, timeout=timeout,
                       catch=(), gc_after_trial=True)
    finally:
        for handler in optuna_log.handlers:
            handler.removeFilter(records)
        tracking.extend_run(parent)
    return study


def worker_indices(host_index: int, workers: int) -> list[int]:
    """Sampler indices of the local workers of host ``host_index`` (its ``--worker-index``): distinct across
    hosts, whatever number of workers each starts."""
    return [host_index * WORKERS_PER_HOST + i for i in range(workers)]


INTERRUPT_GRACE_S = 10  # how long interrupted workers may take to end their runs before they are sent SIGTERM


def run_workers(args: list[str], n_trials: int, workers: int, host_index: int = 0, env: dict | None = None) -> None:
    """Split ``n_trials`` over ``workers`` local processes of ``attpd tune`` (the same arguments) and wait."""
    if workers > WORKERS_PER_HOST:
        raise ConfigError(f"--workers must be at most {WORKERS_PER_HOST}, got {workers}")
    shares = [n_trials // workers + (1 if i < n_trials % workers else 0) for i in range(workers)]
    procs = [subprocess.Popen([sys.executable, "-m", "attpd_bench.cli", "tune", *args, "--n-trials", str(k),
                               "--workers", "1", "--worker-index", str(index)],
                              env={**os.environ, **(env or {}), WORKER_ENV: "1"})
             for index, k in zip(worker_indices(host_index, workers), shares) if k > 0]
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        # Ctrl-C reaches the workers too (one process group) and each ends its runs KILLED; a SIGTERM sent to
        # this process alone is passed on to those still running after a grace period
        for process in procs:
            try:
                process.wait(timeout=INTERRUPT_GRACE_S)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGTERM)
                process.wait()
        raise
    if any(codes):
        raise ConfigError(f"{sum(1 for c in codes if c)} of {len(procs)} tuning workers failed (exit codes {codes})")


def best_config(spec: StudySpec, model: str, study: optuna.Study, seed: int) -> TrainConfig:
    """The best trial's training configuration (its monitor is the study's objective)."""
    return trial_config(spec, model, optuna.trial.FixedTrial(study.best_trial.params), seed)


def default_config(spec: StudySpec, model: str, seed: int) -> TrainConfig:
    """The untuned configuration of the study's first trial, trained the way its trials are."""
    return trial_config(spec, model, optuna.trial.FixedTrial(spec.default_params(model)), seed)


def refit(spec: StudySpec, model: str, store: PolarityStore, study: optuna.Study, seed: int) -> TrainOutcome:
    """Train the best trial's configuration as a normal training run (early-stopped on the study's objective,
    best epoch restored, test scored), tagged with the study."""
    from attpd_bench.train import train_and_log

    best = study.best_trial
    return train_and_log(store, best_config(spec, model, study, seed), run_name=f"{study.study_name}-best",
                         tags={"optuna_study": study.study_name, "optuna_best_trial": str(best.number)})


@dataclass
class TuneResult:
    study: optuna.Study
    summary: dict | None  # None in a worker process started by --workers (its parent summarises)
    refit: TrainOutcome | None


def tune(spec: StudySpec, model: str, store: PolarityStore, tracking_uri: str, *, storage: str | None = None,
         n_trials: int | None = None, timeout: float | None = None, workers: int = 1, host_index: int = 0,
         seed: int = 0, refit_best: bool = False) -> TuneResult:
    """`attpd tune`: add trials (in this process or ``workers`` local processes), summarise, optionally refit.

    ``host_index`` (``--worker-index``) keeps the samplers of several hosts joining one study apart."""
    if spec.dataset != store.dataset:
        raise ConfigError(f"{spec.path} is a study for {spec.dataset!r} but {store.path} holds "
                          f"{store.dataset!r}")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    trials = n_trials or spec.n_trials
    timeout = timeout or spec.timeout_s
    if workers > 1:
        # the study, the MLflow database and the parent run exist before any worker starts
        open_study(spec, model, store, open_storage(storage))
        args = ["--study", str(spec.path), "--model", model, "--store", str(store.path), "--seed", str(seed),
                "--epochs", str(spec.training.get("epochs", 20)),
                "--patience", str(spec.training.get("patience", 5))]
        args += ["--study-name", spec.name] if spec.name else []
        args += ["--timeout", str(timeout)] if timeout else []
        # the URIs (which may carry passwords) go through the environment, never a process list
        run_workers(args, trials, workers, host_index,
                    env={"MLFLOW_TRACKING_URI": tracking_uri, **({STORAGE_ENV: storage} if storage else {})})
        study = open_study(spec, model, store, open_storage(storage))[0]
    else:
        study = optimize(spec, model, store, storage, n_trials=trials, timeout=timeout, seed=seed,
                         worker_index=host_index)
    if os.environ.get(WORKER_ENV):
        return TuneResult(study, None, None)
    summary = summarise(study)
    return TuneResult(study, summary, refit(spec, model, store, study, seed) if refit_best else None)


def load_existing_study(spec: StudySpec, model: str, storage: str | None = None) -> optuna.Study:
    try:
        return optuna.load_study(study_name=spec.study_name(model), storage=open_storage(storage))
    except KeyError:
        raise ConfigError(f"no study named {spec.study_name(model)!r} in {storage or DEFAULT_STORAGE}") from None


def trials_so_far(spec: StudySpec, model: str, storage: str | None = None) -> int:
    """Trials already in the study (0 if it does not exist yet)."""
    try:
        return len(load_existing_study(spec, model, storage).trials)
    except ConfigError:
        return 0


# ------------------------------------------------------------------------------------------- show
def summarise(study: optuna.Study, log_to_parent: bool = True) -> dict:
    """Best trials, parameter importances and figures (also logged to the study's parent run)."""
    trials = study.trials
    states = {s.name: sum(1 for t in trials if t.state == s) for s in optuna.trial.TrialState}
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best = sorted(complete, key=lambda t: t.value, reverse=reverse)[:10]
    importances, note = {}, ""
    if len(complete) >= 2 and complete[0].params:
        try:
            with warnings.catch_warnings():  # few trials: "quantiles select the same set of trials"
                warnings.simplefilter("ignore", UserWarning)
                importances = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError) as exc:
            note = f"importances unavailable: {exc}"
    else:
        note = "importances need at least two completed trials"
    summary = {"study": study.study_name, "states": {k: v for k, v in states.items() if v},
               "best": [{"number": t.number, "value": t.value, "params": t.params,
                         "mlflow_run_id": t.user_attrs.get("mlflow_run_id")} for t in best],
               "importances": importances, "note": note}
    parent = study.user_attrs.get(PARENT_ATTR)
    if log_to_parent and parent:
        log = tracking.RunLogger(parent)
        if complete:
            # tags and stepped metrics, not params: a resumed study or another host may find a better trial,
            # and MLflow params never change
            log.set_tags({"best_trial": study.best_trial.number,
                          **{f"best.{k}": v for k, v in study.best_params.items()}})
            log.log_metrics({"best_value": study.best_value, "n_complete": len(complete),
                             "n_pruned": states.get("PRUNED", 0), "n_trials": len(trials)}, step=len(trials))
        log.log_dict(summary, "study_summary.json")
        import optuna.visualization.matplotlib as vis

        with warnings.catch_warnings():  # the matplotlib back end is marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            figures = []
            if complete:
                figures.append("figures/optimization_history.png")
                log.log_figure(vis.plot_optimization_history(study).figure, figures[-1])
            if importances:
                figures.append("figures/param_importances.png")
                log.log_figure(vis.plot_param_importances(study).figure, figures[-1])
        plots.close_all()
        summary["figures"] = {"run": parent, "files": figures}
    return summary
