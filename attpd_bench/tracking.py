"""MLflow runs: where they go, how they are named and tagged, what every run logs, and model loading.

Embedded default: ``sqlite:///mlflow.db`` in the working folder (artifacts in ./mlruns beside it);
``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` point elsewhere (e.g. an ``mlflow server``). Experiments are
``attpd/<dataset>``, ``attpd/transfer`` and ``attpd/tune/<dataset>``. Only this module and registry.py import
MLflow.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Iterator

import mlflow
import numpy as np
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.tracking.context import registry as context_registry
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from attpd_bench.errors import TrackingError
from attpd_bench.invocation import invoked_command

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
MODEL_ARTIFACT = "model"
# the logged model's environment, pinned to what trained it; given explicitly because MLflow's inference of it
# loads the model in a subprocess (5-6 s per logged model on this machine, against 0.4 s in all)
MODEL_REQUIREMENTS = ("tensorflow", "keras", "keras-self-attention", "numpy")
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1", "val_sign_accuracy")


def experiment_name(kind: str, dataset: str | None = None) -> str:
    """``attpd/<dataset>`` for training, evaluation and promotion runs, ``attpd/tune/<dataset>``,
    ``attpd/transfer``, ``attpd/predict``, ``attpd/mechanisms/<dataset>``, ``attpd/audit/<dataset>``,
    ``attpd/realism``."""
    return {"train": f"attpd/{dataset}", "tune": f"attpd/tune/{dataset}", "transfer": "attpd/transfer",
            "evaluate": f"attpd/{dataset}", "predict": "attpd/predict", "realism": "attpd/realism",
            "mechanisms": f"attpd/mechanisms/{dataset}", "audit": f"attpd/audit/{dataset}"}[kind]


def configure(tracking_uri: str | None = None) -> str:
    """Point MLflow at ``tracking_uri`` (or the environment, or the embedded default) and check it answers."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    if uri == DEFAULT_TRACKING_URI:
        # absolute, so that MLflow's per-URI store cache never reuses another folder's database
        uri = f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    if uri.startswith(("http://", "https://")):
        # fail in seconds, not after minutes of retries, when a server is not there
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    if uri.startswith("sqlite:///"):
        _sqlite_wal(Path(uri[len("sqlite:///"):]))
    mlflow.set_tracking_uri(uri)
    try:
        MlflowClient().search_experiments(max_results=1)
    except Exception as exc:  # MLflow raises many types for an unreachable store
        raise TrackingError(f"cannot reach the MLflow tracking store at {mask_credentials(uri)!r}: "
                            f"{mask_credentials(str(exc).splitlines()[0][:300])}") from None
    return uri


def _sqlite_wal(path: Path) -> None:
    """Write-ahead logging: parallel local workers (``attpd tune --workers K``) then write to one SQLite file
    without 'database is locked' errors (readers never block the writer). Persistent in the file."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as db:
        db.execute("PRAGMA journal_mode=WAL")


def experiment_id(name: str) -> str:
    """Get or create an experiment; safe when parallel workers race to create it."""
    client = MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*:)(?P<password>[^@\s/]+)(?P<at>@)")


def mask_credentials(text: str) -> str:
    """Every ``scheme://user:password@host`` in ``text`` with the password as ``***`` (SQLAlchemy's
    ``hide_password`` rendering, applied to whole command lines and messages)."""
    return CREDENTIALS.sub(lambda m: f"{m['head']}***{m['at']}", text)


def command_line() -> str:
    return mask_credentials(invoked_command.get() or " ".join(sys.argv))


def standard_tags(*, model: str | None, dataset: str | None, store_fingerprint: str | None, seed: int | None,
                  command: str | None = None, **extra) -> dict[str, str]:
    tags = {"model": model, "dataset": dataset, "store_fingerprint": store_fingerprint, "seed": seed,
            "git_commit": git_commit(), "command": command or command_line(), **extra}
    return {k: mask_credentials(str(v)) for k, v in tags.items() if v is not None}


class RunLogger:
    """Logs to one run by id (MLflow client calls), so parents and children never share hidden state."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self._client = MlflowClient()

    def log_params(self, params: dict) -> None:
        """Unset (None) values are left out: a param that says "None" tells a reader nothing. Passwords in
        URIs are masked."""
        params = {k: mask_credentials(v) if isinstance(v, str) else v for k, v in params.items()}
        self._client.log_batch(self.run_id, params=[Param(k, str(v)) for k, v in params.items() if v is not None])

    def set_tags(self, tags: dict) -> None:
        tags = {k: mask_credentials(v) if isinstance(v, str) else v for k, v in tags.items()}
        self._client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, metrics: dict, prefix: str = "", step: int = 0) -> list[str]:
        """Log finite numeric metrics; returns the names left out because they are undefined (NaN)."""
        finite, undefined = [], []
        now = int(time.time() * 1000)
        for key, value in metrics.items():
            if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
                if math.isfinite(value):
                    finite.append(Metric(prefix + key, float(value), now, step))
                else:
                    undefined.append(key)
        if finite:
            self._client.log_batch(self.run_id, metrics=finite)
        return undefined

    def log_epoch(self, epoch: int, logs: dict) -> None:
        """Per-epoch training curves under the contract's names; ``epoch`` is Keras' 0-based index, the step is
        the 1-based epoch number that figures, ``best_epoch`` and the console use too."""
        self.log_metrics({k: v for k, v in logs.items() if k in EPOCH_METRICS}, step=epoch + 1)

    def log_store_input(self, store, context: str = "training") -> None:
        """The store as the run's input dataset: name ``<dataset>-store``, digest = fingerprint prefix."""
        frame = store.metadata[["trace_name", "label", "split", "source_id", "station_code"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "source can be interpreted in multiple ways": a local path
            ds = mlflow.data.from_pandas(frame, source=str(store.path.resolve()), targets="label",
                                         name=f"{store.dataset}-store", digest=store.fingerprint[:16])
        inputs = [DatasetInput(ds._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", context),
                                                             InputTag("fingerprint", store.fingerprint)])]
        for attempt in range(5):
            try:
                self._client.log_inputs(self.run_id, datasets=inputs)
                return
            except MlflowException:
                # parallel workers logging the same store race to insert its dataset row; the loser retries
                # and finds it
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def log_figure(self, fig, artifact_file: str) -> None:
        from attpd_bench.plots import close

        self._client.log_figure(self.run_id, fig, artifact_file,
                                save_kwargs={"bbox_inches": "tight", "dpi": 150})
        close(fig)

    def log_artifact(self, local_file: Path, artifact_path: str | None = None) -> None:
        self._client.log_artifact(self.run_id, str(local_file), artifact_path)

    def log_artifacts(self, local_dir: Path, artifact_path: str | None = None) -> None:
        self._client.log_artifacts(self.run_id, str(local_dir), artifact_path)

    def log_dict(self, data: dict, artifact_file: str) -> None:
        self._client.log_dict(self.run_id, data, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        self._client.log_text(self.run_id, text, artifact_file)


INTERRUPTED = "interrupted"  # the end reason of a run that Ctrl-C or SIGTERM ended
END_REASON_TAG = "end_reason"  # on a KILLED run: "interrupted", or the exception that ended it ("trialpruned")


@contextmanager
def run(experiment: str, run_name: str | None, tags: dict[str, str], *, parent_run_id: str | None = None,
        killed_on: tuple[type[BaseException], ...] = (), active: bool = True) -> Iterator[RunLogger]:
    """A run that ends FINISHED, or FAILED on an error (KILLED on ``killed_on`` / Ctrl-C), never left RUNNING.

    ``active`` runs are MLflow's current run (needed to log a model); parents of other runs are created
    inactive, and children link to them with ``parent_run_id`` rather than the thread-local run stack."""
    exp_id = experiment_id(experiment)
    if active:
        run_id = mlflow.start_run(experiment_id=exp_id, run_name=run_name, tags=tags,
                                  parent_run_id=parent_run_id).info.run_id
        end = lambda status: mlflow.end_run(status)  # noqa: E731
    else:
        # the context tags start_run would add (mlflow.source.name, mlflow.user, ...): the UI's "Source" and
        # "Created by" columns are not empty on parent runs
        all_tags = context_registry.resolve_tags(
            {**tags, **({MLFLOW_PARENT_RUN_ID: parent_run_id} if parent_run_id else {})})
        run_id = MlflowClient().create_run(exp_id, run_name=run_name, tags=all_tags).info.run_id
        end = lambda status: MlflowClient().set_terminated(run_id, status)  # noqa: E731
    try:
        yield RunLogger(run_id)
    except (KeyboardInterrupt, *killed_on) as exc:
        # KILLED either way; the tag tells an interrupted run (Ctrl-C, a scheduler's SIGTERM) from a pruned trial
        reason = INTERRUPTED if isinstance(exc, KeyboardInterrupt) else type(exc).__name__.lower()
        MlflowClient().set_tag(run_id, END_REASON_TAG, reason)
        end(RunStatus.to_string(RunStatus.KILLED))
        raise
    except BaseException:
        end(RunStatus.to_string(RunStatus.FAILED))
        raise
    end(RunStatus.to_string(RunStatus.FINISHED))


@contextmanager
def exclusive(key: str) -> Iterator[bool]:
    """A lock on ``key`` shared by every process that uses this tracking store, held for the block (a
    promotion's read-compare-move of its registered model's aliases). SQLite: an exclusive ``flock`` on a file
    beside the database; PostgreSQL: a session-level advisory lock in the tracking database. Yields False where
    the store offers neither (an ``mlflow server`` over HTTP): the caller must then re-check optimistically."""
    uri = mlflow.get_tracking_uri()
    if uri.startswith("sqlite:///"):
        import fcntl

        database = Path(uri[len("sqlite:///"):])
        with open(database.with_name(f"{database.name}.{key}.lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed, or the process dies
            yield True
    elif uri.startswith("postgresql"):
        import hashlib

        import sqlalchemy

        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.connect() as connection:  # the lock dies with the connection (or the process)
                connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
                try:
                    yield True
                finally:
                    connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
        finally:
            engine.dispose()
    else:
        yield False


def fail_run(run_id: str, reason: str) -> None:
    """End a run its process can no longer end (the process was killed): FAILED, with the reason as a tag."""
    client = MlflowClient()
    client.set_tag(run_id, "failure_reason", reason)
    client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))


def extend_run(run_id: str) -> None:
    """End time of a finished parent run moved to now: a study's parent spans the trials that later workers
    and resumed runs add to it (it was created, and ended, before the first trial)."""
    client = MlflowClient()
    status = client.get_run(run_id).info.status
    client.set_terminated(run_id, status, end_time=int(time.time() * 1000))


def log_keras_model(model, input_example: np.ndarray, custom_objects: dict) -> str:
    """Log to the active run with signature and input example; returns the model URI (loadable with
    :func:`load_keras_model` and ``mlflow.pyfunc.load_model`` in a fresh process)."""
    from mlflow.models import infer_signature

    output = model.predict(input_example, verbose=0)
    output = output[-1] if isinstance(output, list) else output
    info = mlflow.tensorflow.log_model(model, name=MODEL_ARTIFACT, custom_objects=custom_objects,
                                       signature=infer_signature(input_example, output),
                                       input_example=input_example,
                                       pip_requirements=[f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS])
    mlflow.set_tag("model_uri", info.model_uri)
    return info.model_uri


def load_keras_model(model_uri: str):
    """The Keras model behind a run's, a registry's (``models:/name@alias``) or a local model URI."""
    try:
        return mlflow.tensorflow.load_model(model_uri)
    except Exception as exc:
        raise TrackingError(f"cannot load model {model_uri!r}: {str(exc).splitlines()[0][:300]}") from None


def search_runs(experiment: str, filter_string: str = "", order_by: list[str] | None = None,
                max_results: int = 1000):
    exp = MlflowClient().get_experiment_by_name(experiment)
    if exp is None:
        return []
    return MlflowClient().search_runs([exp.experiment_id], filter_string, max_results=max_results,
                                      order_by=order_by or ["attributes.start_time DESC"])
