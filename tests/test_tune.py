"""Optuna studies: validation, parent/child runs, pruning, resumption, local workers, PostgreSQL, mlflow server."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attpd_bench import tracking
from attpd_bench.cli import app
from attpd_bench.errors import ConfigError
from attpd_bench.tune import load_study_spec, open_storage, optimize
from tests.conftest import PG_URL, needs_postgres

pytestmark = pytest.mark.slow  # trains models, runs the demo or SKHASH: `make test-fast` skips this file

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent

TINY = """
[study]
dataset = "{dataset}"
n_trials = 3
[sampler]
seed = 1
n_startup_trials = 2
[pruner]
name = "{pruner}"
n_startup_trials = 1
n_warmup_steps = 0
[training]
epochs = {epochs}
patience = 3
[search.learning_rate]
type = "float"
low = 1e-4
high = 1e-2
log = true
[search.batch_size]
type = "categorical"
choices = [{batch}]
[search.lstm_units]
type = "categorical"
choices = [16]
[search.attention_width]
type = "int"
low = 5
high = 20
"""


def _study_file(tmp_path, dataset="pnw", pruner="none", epochs=1, batch=64, name="tiny.toml"):
    path = tmp_path / name
    path.write_text(TINY.format(dataset=dataset, pruner=pruner, epochs=epochs, batch=batch))
    return path



def _runs(experiment, uri=None):
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else client.search_runs([exp.experiment_id], max_results=1000)


def _parents_children(runs):
    parents = [r for r in runs if r.data.tags.get("kind") == "study"]
    children = [r for r in runs if r.data.tags.get("kind") == "trial"]
    return parents, children


# ------------------------------------------------------------------------------------------ validation
def test_shipped_study_files_are_valid():
    for dataset in ("ins", "hinet", "scsn", "pnw"):
        spec = load_study_spec(ROOT / "studies" / f"{dataset}.toml")
        assert spec.dataset == dataset and spec.study_name("pd") == f"{dataset}-pd"
        names = {p.name for p in spec.params_for("pd")}
        assert {"learning_rate", "batch_size", "attention_width", "attention_units"} <= names
        assert "attention_width" not in {p.name for p in spec.params_for("ross")}
        # a two-class picker searches its abstention band, from the authors' use (0: never) up
        assert "band" in {p.name for p in spec.params_for("cfm")} and spec.default_params("cfm")["band"] == 0.0
        assert "band" not in {p.name for p in spec.params_for("pd")}


def test_a_resumed_study_measures_the_untuned_baseline_an_interruption_cut_short():
    """Issue 38: Ctrl-C during trial 0 (the untuned configuration, enqueued at creation) leaves it FAIL, and a
    resumed study never measured the baseline the tuned trials must beat. Resuming enqueues it again, once; a
    study whose baseline completed is left alone."""
    from attpd_bench.tune import UNTUNED_ORIGIN, enqueue_untuned

    spec = load_study_spec(ROOT / "studies" / "pnw.toml")
    study = optuna.create_study(direction="maximize")
    enqueue_untuned(study, spec, "pd")
    interrupted = study.ask()
    assert interrupted.user_attrs["origin"] == UNTUNED_ORIGIN
    study.tell(interrupted, state=optuna.trial.TrialState.FAIL)
    enqueue_untuned(study, spec, "pd")
    enqueue_untuned(study, spec, "pd")  # a second resume before anything ran: still one waiting baseline
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].user_attrs["origin"] == UNTUNED_ORIGIN
    baseline = study.ask()
    assert baseline.user_attrs["origin"] == UNTUNED_ORIGIN
    study.tell(baseline, 0.5)
    enqueue_untuned(study, spec, "pd")
    assert not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))


def test_an_interrupted_trial_is_one_line_not_optunas_traceback():
    """Issue 38: Ctrl-C in `tune --workers 2` printed Optuna's 50-line traceback per worker. A trial that an
    interruption ended is said by the command's one line; Optuna's records of it are dropped, a real failure's
    are kept."""
    import logging
    import sys as system

    from optuna.study._optimize import _log_failed_trial

    from attpd_bench.tune import _InterruptedTrialRecords

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    handler.addFilter(_InterruptedTrialRecords())
    logger = logging.getLogger("optuna")
    logger.addHandler(handler)
    try:
        for number, error in ((0, KeyboardInterrupt()), (1, ValueError("a real failure"))):
            try:
                raise error
            except BaseException:
                _log_failed_trial(number, {"learning_rate": 1e-3}, repr(error), exc_info=system.exc_info())
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage().split(" because")[0] for r in records] == [
        "Trial 1 failed with parameters: {'learning_rate': 0.001}", "Trial 1 failed with value None."]


@pytest.mark.parametrize("edit, message", [
    (("[pruner]", "[pruner]\npatience_x = 3"), r"unknown key 'patience_x' in \[pruner\]"),
    (("low = 5\nhigh = 20", "low = 5\nhigh = 80"), "attention width must lie within the 50-step"),
    (("low = 1e-4\nhigh = 1e-2", "low = 1e-2\nhigh = 1e-4"), r"\[search.learning_rate\]: needs low < high"),
    (("[search.lstm_units]", "[search.spectral_norm]"), r"\[search.spectral_norm\]: unknown parameter"),
    (('dataset = "pnw"', 'dataset = "pnw"\nobjective = "f2"'), "unknown objective 'f2'"),
    (("[training]", "[trainer]"), r"unknown section \[trainer\]"),
    (("n_trials = 3", "n_trials = 3\nheartbeat_interval_s = 0"), r"heartbeat_interval_s must be a positive"),
    (("n_trials = 3", "n_trials = 3\nheartbeat_interval_s = 30\ngrace_period_s = 30"),
     r"grace_period_s \(30\) must exceed heartbeat_interval_s \(30\)"),
])
def test_study_file_errors(tmp_path, edit, message):
    path = _study_file(tmp_path)
    path.write_text(path.read_text().replace(*edit, 1))
    with pytest.raises(ConfigError, match=message) as info:
        load_study_spec(path)
    assert str(path) in str(info.value)


# ------------------------------------------------------------------------------------------ runs
def test_tiny_study_parent_children_and_resume(stores, workdir):
    store = stores[("pnw", "native")]
    study_file = _study_file(workdir)
    result = runner.invoke(app, ["tune", "--study", str(study_file), "--model", "pd", "--store", str(store.path),
                                 "--n-trials", "3"])
    assert result.exit_code == 0, result.output
    tracking.configure(None)
    parents, children = _parents_children(_runs("attpd/tune/pnw"))
    assert len(parents) == 1 and len(children) == 3
    parent = parents[0]
    assert parent.info.run_name == "pnw-pd"
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert sorted(c.data.tags["optuna_trial"] for c in children) == ["0", "1", "2"]
    for child in children:
        assert child.info.status == "FINISHED"
        assert {"learning_rate", "batch_size", "attention_width"} <= set(child.data.params)
        assert [m.step for m in MlflowClient().get_metric_history(child.info.run_id, "val_macro_f1")] == [1]
    assert {"best.learning_rate", "best.attention_width", "best_trial"} <= set(parent.data.tags)
    assert parent.data.metrics["n_trials"] == 3
    for child in children:  # trials see dev only: the test split is scored by train, refit, evaluate, promote
        assert not [k for k in child.data.metrics if k.startswith("test_")]
        assert "metrics/test.json" not in {a.path for a in MlflowClient().list_artifacts(child.info.run_id,
                                                                                          "metrics")}
    study = optuna.load_study(study_name="pnw-pd", storage=open_storage(None))
    assert len(study.trials) == 3 and study.user_attrs["mlflow_parent_run_id"] == parent.info.run_id
    assert study.metric_names == ["dev_macro_f1"]  # optuna-dashboard names the objective
    # trial 0 is the untuned configuration (where the search space holds it): the baseline to beat
    assert study.trials[0].params["learning_rate"] == 0.001 and study.trials[0].params["attention_width"] == 20

    # a rerun continues the same study under the same parent
    result = runner.invoke(app, ["tune", "--study", str(study_file), "--model", "pd", "--store", str(store.path),
                                 "--n-trials", "2"])
    assert result.exit_code == 0, result.output
    parents, children = _parents_children(_runs("attpd/tune/pnw"))
    assert len(parents) == 1 and len(children) == 5
    study = optuna.load_study(study_name="pnw-pd", storage=open_storage(None))
    assert [t.number for t in study.trials] == [0, 1, 2, 3, 4]
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 5  # no repeated proposals

    shown = runner.invoke(app, ["tune", "show", "--study", str(study_file), "--model", "pd"])
    assert shown.exit_code == 0 and "best trials" in shown.output
    # issue 38: the run ids promote --run-id needs are printed whole, not cut with an ellipsis
    run_ids = {t.user_attrs.get("mlflow_run_id") for t in study.trials} - {None}
    assert run_ids and any(run_id in shown.output for run_id in run_ids), shown.output[-1500:]
    assert "figures/optimization_history.png" in shown.output and parent.info.run_id in shown.output
    artifacts = {a.path for a in MlflowClient().list_artifacts(parent.info.run_id, "figures")}
    assert "figures/optimization_history.png" in artifacts


def test_pruning_kills_a_bad_trial(training_store, workdir):
    tracking.configure(None)
    spec = load_study_spec(_study_file(workdir, pruner="median", epochs=4, batch=16))
    storage = open_storage(None)
    study = optuna.create_study(study_name=spec.study_name("pd"), storage=storage, direction="maximize")
    study.enqueue_trial({"learning_rate": 3e-3, "batch_size": 16, "lstm_units": 16, "attention_width": 10})
    study.enqueue_trial({"learning_rate": 1e-4, "batch_size": 16, "lstm_units": 16, "attention_width": 10})
    # the first worker call creates the parent: give the study its attributes as open_study would
    from attpd_bench.tune import PARENT_ATTR

    with tracking.run("attpd/tune/pnw", "pnw-pd", {"kind": "study"}, active=False) as parent:
        pass
    study.set_user_attr(PARENT_ATTR, parent.run_id)
    study.set_user_attr("store_fingerprint", training_store.fingerprint)
    spec = spec.__class__(**{**spec.__dict__, "dataset": training_store.dataset})
    study = optimize(spec, "pd", training_store, None, n_trials=2)
    states = [t.state for t in study.trials]
    assert states[0] == optuna.trial.TrialState.COMPLETE
    assert states[1] == optuna.trial.TrialState.PRUNED, [t.intermediate_values for t in study.trials]
    _, children = _parents_children(_runs("attpd/tune/pnw"))
    by_trial = {c.data.tags["optuna_trial"]: c for c in children}
    assert by_trial["1"].info.status == "KILLED" and by_trial["0"].info.status == "FINISHED"
    assert by_trial["1"].data.tags["end_reason"] == "trialpruned"  # told apart from an interrupted run
    assert "val_macro_f1" in by_trial["1"].data.metrics  # last metrics kept


def _users_env() -> dict:
    """The environment of a user who has set no log level (conftest quietens the tests', and in-process CLI
    tests leave the quiet defaults in this process's environment)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("TF_CPP_MIN_LOG_LEVEL", "MLFLOW_LOGGING_LEVEL", "ATTPD_VERBOSE")}


def test_two_local_workers_share_the_default_storage(stores, workdir):
    store = stores[("pnw", "native")]
    study_file = _study_file(workdir)
    result = subprocess.run([sys.executable, "-m", "attpd_bench.cli", "tune", "--study", str(study_file),
                             "--model", "pd", "--store", str(store.path), "--n-trials", "4", "--workers", "2"],
                            cwd=workdir, capture_output=True, text=True, timeout=600, env=_users_env())
    out = result.stdout + result.stderr
    assert result.returncode == 0, "\n".join(line for line in out.splitlines() if "rror" in line)[-3000:]
    assert "database is locked" not in out
    # a quiet console: no TensorFlow C++ log line, no MLflow or Optuna INFO line
    assert not re.search(r"^[IWEF]\d{4} |absl::|INFO mlflow|Trial \d+ finished", out, flags=re.M), out[-3000:]
    # the workers' epoch lines interleave: each says whose it is
    epoch_lines = re.findall(r"(\S*) ?epoch \d+: ", out)
    assert epoch_lines and all(re.fullmatch(r"trial-\d+", who) for who in epoch_lines), epoch_lines[:5]
    assert len(set(epoch_lines)) >= 2
    tracking.configure(None)
    parents, children = _parents_children(_runs("attpd/tune/pnw"))
    assert len(parents) == 1 and len(children) == 4
    assert all(c.info.status == "FINISHED" for c in children)
    study = optuna.load_study(study_name="pnw-pd", storage=open_storage(None))
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]


def test_verbose_gives_back_the_libraries_logs(stores, workdir):
    """`attpd --verbose` shows Optuna's own trial lines and TensorFlow's logs, also in worker processes."""
    study_file = _study_file(workdir)
    result = subprocess.run([sys.executable, "-m", "attpd_bench.cli", "--verbose", "tune", "--study",
                             str(study_file), "--model", "pd", "--store", str(stores[("pnw", "native")].path),
                             "--n-trials", "2", "--workers", "2"],
                            cwd=workdir, capture_output=True, text=True, timeout=600, env=_users_env())
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert len(re.findall(r"Trial \d+ finished with value", out)) == 2
    assert re.search(r"^[IWE]\d{4} ", out, flags=re.M) and "INFO mlflow" in out, out[-3000:]


# ------------------------------------------------------------------------------------------ PostgreSQL
@needs_postgres
def test_two_processes_on_postgresql(stores, workdir, postgresql_turn):
    store = stores[("pnw", "native")]
    study_file = _study_file(workdir)
    name = f"pnw-pd-test-{uuid.uuid4().hex[:10]}"
    cmd = [sys.executable, "-m", "attpd_bench.cli", "tune", "--study", str(study_file), "--model", "pd",
           "--store", str(store.path), "--n-trials", "2", "--storage", PG_URL, "--study-name", name]
    tracking.configure(None)  # the MLflow database exists before the workers start
    procs = [subprocess.Popen(cmd + ["--worker-index", str(i)], cwd=workdir, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][-2000:] + outs[1][-2000:]
    study = optuna.load_study(study_name=name, storage=PG_URL)
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == [0, 1, 2, 3]
    parents, children = _parents_children(_runs("attpd/tune/pnw"))
    mine = [p for p in parents if p.data.tags.get("optuna_study") == name]
    assert len(mine) == 1
    kids = [c for c in children if c.data.tags["optuna_study"] == name]
    assert sorted(int(c.data.tags["optuna_trial"]) for c in kids) == [0, 1, 2, 3]
    assert {c.data.tags["mlflow.parentRunId"] for c in kids} == {mine[0].info.run_id}
    optuna.delete_study(study_name=name, storage=PG_URL)


@pytest.mark.parametrize("storage", ["journal", pytest.param("postgresql", marks=needs_postgres)])
def test_a_worker_killed_mid_trial_is_failed_retried_and_its_run_ended(stores, workdir, storage,
                                                                        postgresql_turn):
    """SIGKILL a worker in the middle of a trial, then start another: the lost trial is failed and retried (on
    PostgreSQL through Optuna's heartbeats, on the journal file because its process is gone), its MLflow child
    run ends FAILED with the reason, and the study reaches its requested number of complete trials with
    nothing left RUNNING."""
    study_file = _study_file(workdir)
    study_file.write_text(study_file.read_text().replace(
        "[study]\n", "[study]\nheartbeat_interval_s = 1\ngrace_period_s = 3\n"))
    name = f"pnw-pd-kill-{uuid.uuid4().hex[:10]}"
    url = PG_URL if storage == "postgresql" else str(workdir / "optuna.journal")
    cmd = [sys.executable, "-m", "attpd_bench.cli", "tune", "--study", str(study_file), "--model", "pd",
           "--store", str(stores[("pnw", "native")].path), "--n-trials", "2", "--storage", url,
           "--study-name", name]
    tracking.configure(None)
    victim = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not [r for r in _runs("attpd/tune/pnw") if r.data.tags.get("optuna_study") == name
               and r.data.tags.get("kind") == "trial"]:  # its first trial has started
        assert time.time() < deadline and victim.poll() is None, "the worker never started a trial"
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    lost = optuna.load_study(study_name=name, storage=open_storage(url))
    assert [t.state for t in lost.trials] == [optuna.trial.TrialState.RUNNING]
    time.sleep(4)  # past the grace period: the dead worker's heartbeat is stale
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "trial 0 lost its worker" in result.stdout

    study = optuna.load_study(study_name=name, storage=open_storage(url))
    states = [t.state.name for t in study.trials]
    assert states == ["FAIL", "COMPLETE", "COMPLETE"]
    assert study.trials[1].system_attrs["failed_trial"] == 0 and study.trials[1].params == study.trials[0].params
    runs = [r for r in _runs("attpd/tune/pnw") if r.data.tags.get("optuna_study") == name]
    assert not [r for r in runs if r.info.status == "RUNNING"]
    by_trial = {r.data.tags["optuna_trial"]: r for r in runs if r.data.tags["kind"] == "trial"}
    assert {k: r.info.status for k, r in by_trial.items()} == {"0": "FAILED", "1": "FINISHED", "2": "FINISHED"}
    assert "stopped during Optuna trial 0" in by_trial["0"].data.tags["failure_reason"]
    if storage == "postgresql":
        optuna.delete_study(study_name=name, storage=PG_URL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_postgres
def test_tune_against_an_mlflow_server_on_postgresql(stores, workdir, postgresql_turn):
    import psycopg2

    db = f"attpd_mlflow_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname=test")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {db}")
    port = _free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    server = subprocess.Popen([str(mlflow_bin), "server", "--backend-store-uri",
                               f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db}", "--artifacts-destination",
                               str(workdir / "mlartifacts"), "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "1"], cwd=workdir, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.time() < deadline and server.poll() is None, "mlflow server did not start"
                time.sleep(1)
        time.sleep(2)
        name = f"pnw-pd-server-{uuid.uuid4().hex[:10]}"
        result = subprocess.run([sys.executable, "-m", "attpd_bench.cli", "tune", "--study",
                                 str(_study_file(workdir)), "--model", "pd", "--store",
                                 str(stores[("pnw", "native")].path), "--n-trials", "1", "--storage", PG_URL,
                                 "--study-name", name, "--tracking-uri", uri], cwd=workdir, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
        parents, children = _parents_children(_runs("attpd/tune/pnw", uri))
        assert len(parents) == 1 and len(children) == 1
        assert children[0].data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert (workdir / "mlartifacts").exists()  # figures served through the server
        optuna.delete_study(study_name=name, storage=PG_URL)
    finally:
        server.terminate()
        server.wait(timeout=30)
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.close()


def _add_trial(study, learning_rate: float, value: float) -> None:
    study.add_trial(optuna.trial.create_trial(
        params={"learning_rate": learning_rate},
        distributions={"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)},
        value=value))


def test_summary_follows_a_better_trial_found_later(stores, workdir):
    """A resumed study, another host or a later `tune show` may find a better trial: the parent run follows."""
    from attpd_bench.tune import open_study, summarise

    tracking.configure(None)
    spec = load_study_spec(_study_file(workdir))
    study, parent_id = open_study(spec, "pd", stores[("pnw", "native")], open_storage(None))
    _add_trial(study, 0.001, 0.5)
    summarise(study)
    _add_trial(study, 0.003, 0.7)  # better: the best parameters change
    summarise(study)
    parent = MlflowClient().get_run(parent_id)
    assert parent.data.tags["best.learning_rate"] == "0.003"
    assert parent.data.tags["best_trial"] == str(study.best_trial.number)
    history = MlflowClient().get_metric_history(parent_id, "best_value")
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == [0.5, 0.7]


def test_local_workers_of_two_hosts_get_distinct_sampler_indices(monkeypatch):
    from attpd_bench import tune

    started = []

    class FakeProcess:
        def __init__(self, cmd, env):
            started.append(cmd[cmd.index("--worker-index") + 1])

        def wait(self):
            return 0

    monkeypatch.setattr(tune.subprocess, "Popen", FakeProcess)
    for host in (0, 1):
        tune.run_workers(["--study", "x"], n_trials=4, workers=2, host_index=host)
    assert len(set(started)) == 4, started
