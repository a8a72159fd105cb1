"""Training runs: a complete MLflow record, a model loadable in a fresh process, determinism, clean failures."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attpd_bench import tracking
from attpd_bench.cli import app
from attpd_bench.data.preprocess import model_windows
from attpd_bench.train import TrainConfig, fit, score_split

runner = CliRunner()



def _runs(experiment: str):
    client = MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else client.search_runs([exp.experiment_id])


@pytest.mark.slow
def test_train_command_logs_a_complete_run(stores, workdir):
    store = stores[("pnw", "native")]
    result = runner.invoke(app, ["train", "--model", "pd", "--store", str(store.path), "--epochs", "2",
                                 "--batch-size", "32", "--patience", "5", "--run-name", "smoke", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "/step" not in result.output and not re.search(r"\d+/\d+ ━", result.output), result.output  # no Keras
    # progress bar ("1/1 ━━━━ 0s 149ms/step"); the suite's own tables draw with the same character
    tracking.configure(None)
    assert mlflow.get_tracking_uri() == f"sqlite:///{workdir / 'mlflow.db'}" and (workdir / "mlflow.db").exists()
    runs = _runs("attpd/pnw")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED" and run.info.run_name == "smoke"
    for key, value in {"model": "pd", "dataset": "pnw", "store_fingerprint": store.fingerprint, "seed": "1"}.items():
        assert run.data.tags[key] == value
    assert len(run.data.tags["git_commit"]) == 40
    assert run.data.tags["command"].startswith("attpd train --store ") and "--epochs 2" in run.data.tags["command"]
    params = run.data.params
    assert params["epochs"] == "2" and params["batch_size"] == "32" and params["learning_rate"] == "0.001"
    assert params["monitor"] == "val_accuracy" and params["loss"] == "categorical_crossentropy"
    client = MlflowClient()
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        history = client.get_metric_history(run.info.run_id, key)
        assert [m.step for m in history] == [1, 2], key  # epochs counted from 1, as in figures and console
    assert run.data.metrics["best_epoch"] in (1, 2) and run.data.metrics["epochs_run"] == 2
    for key in ("dev_accuracy", "dev_macro_f1", "test_accuracy", "test_macro_f1"):
        assert 0.0 <= run.data.metrics[key] <= 1.0, key
    # sign accuracy is undefined (and said so) when 2 epochs on a tiny store call no trace up or down
    assert 0.0 <= run.data.metrics.get("test_sign_accuracy", 0.0) <= 1.0
    assert "test_sign_accuracy" in run.data.metrics or \
        "sign_accuracy" in run.data.params.get("test_undefined_metrics", "")
    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1 and inputs[0].dataset.name == "pnw-store"
    assert inputs[0].dataset.digest == store.fingerprint[:16]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert {"figures/learning_curves.png", "figures/confusion_test.png", "figures/confusion_dev.png"} <= artifacts
    metrics_json = json.loads((workdir / client.download_artifacts(run.info.run_id, "metrics/test.json")).read_text())
    assert np.array(metrics_json["confusion"]).sum() == len(store.rows("test"))

    # the model loads in a fresh process and reproduces in-process predictions
    model_uri = run.data.tags["model_uri"]
    x = model_windows(store.arrays("test").waveforms)[..., None]
    np.save(workdir / "x.npy", x)
    in_process = tracking.load_keras_model(model_uri).predict(x, verbose=0)
    code = ("import mlflow, numpy as np; mlflow.set_tracking_uri('sqlite:///mlflow.db'); "
            f"m = mlflow.pyfunc.load_model({model_uri!r}); p = m.predict(np.load('x.npy')); "
            "np.save('p.npy', np.asarray(p))")
    done = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(workdir / "p.npy"), in_process, rtol=1e-5, atol=1e-6)
    assert (workdir / "mlruns").exists()


@pytest.mark.slow
def test_same_seed_same_metrics(stores):
    store = stores[("pnw", "native")]
    config = TrainConfig(model="pd", epochs=2, batch_size=32, seed=4, hyperparameters={"lstm_units": 16})
    a, b = fit(store, config), fit(store, config)
    assert a.history == b.history
    np.testing.assert_array_equal(score_split(a.model, store, "test", "pd").probabilities,
                                  score_split(b.model, store, "test", "pd").probabilities)
    c = fit(store, TrainConfig(model="pd", epochs=2, batch_size=32, seed=5, hyperparameters={"lstm_units": 16}))
    assert c.history != a.history


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ross", "pp", "pd2d"])
def test_other_models_train(stores, model):
    result = fit(stores[("hinet", "native")], TrainConfig(model=model, epochs=1, batch_size=64))
    assert result.epochs_run == 1 and np.isfinite(result.history["loss"][0])
    assert "accuracy" in result.history and "val_accuracy" in result.history


def test_bad_model_name(stores, workdir):
    result = runner.invoke(app, ["train", "--model", "cnn", "--store", str(stores[("pnw", "native")].path)])
    assert result.exit_code == 1 and "unknown model 'cnn'" in result.output
    assert not (workdir / "mlflow.db").exists()


def test_missing_store(workdir):
    result = runner.invoke(app, ["train", "--store", str(workdir / "nope")])
    assert result.exit_code == 1 and "not a canonical store" in result.output


def test_an_empty_dev_split_is_refused_before_a_run_starts(stores, workdir, tmp_path):
    import shutil

    import pandas as pd

    src = stores[("pnw", "native")].path
    dst = tmp_path / "nodev"
    shutil.copytree(src, dst)
    meta = pd.read_csv(dst / "metadata.csv")
    meta.loc[meta["split"] == "dev", "split"] = "train"
    meta.to_csv(dst / "metadata.csv", index=False)
    result = runner.invoke(app, ["train", "--store", str(dst), "--epochs", "1"])
    assert result.exit_code == 1 and "the 'dev' split is empty" in result.output
    # issue 38: refused before anything starts (no FAILED run left behind), saying how to get a dev split
    assert "--split-mode original" in result.output
    tracking.configure(None)
    assert _runs("attpd/pnw") == []


def test_unreachable_tracking_uri(stores, workdir):
    result = runner.invoke(app, ["train", "--store", str(stores[("pnw", "native")].path),
                                 "--tracking-uri", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach the MLflow tracking store at 'http://127.0.0.1:9'" in result.output


@pytest.mark.slow
def test_dev_macro_f1_monitor_restores_the_best_epoch(training_store):
    """A study's objective works as the early-stopping monitor: computed every epoch, best epoch restored."""
    config = TrainConfig(model="pd", epochs=4, batch_size=32, patience=4, seed=0, monitor="val_macro_f1",
                         hyperparameters={"lstm_units": 16, "bn_momentum": 0.9})
    result = fit(training_store, config)
    curve = result.history["val_macro_f1"]
    assert len(curve) == 4 and result.best_epoch == int(np.argmax(curve))
    restored = score_split(result.model, training_store, "dev", "pd").report["macro_f1"]
    assert restored == pytest.approx(max(curve), abs=1e-6)
    assert TrainConfig(monitor="val_macro_f1").resolved().monitor_mode == "max"
    assert TrainConfig(monitor="val_loss").resolved().monitor_mode == "min"


def test_unknown_monitor_is_an_error_before_training(stores, workdir):
    result = runner.invoke(app, ["train", "--store", str(stores[("pnw", "native")].path), "--monitor",
                                 "val_macro_f2"])
    assert result.exit_code == 1
    assert "unknown monitor 'val_macro_f2'" in result.output and "val_macro_f1" in result.output
    assert not (workdir / "mlflow.db").exists()


@pytest.mark.slow
def test_store_path_is_logged_absolute_and_promote_works_from_elsewhere(stores, workdir, tmp_path):
    import os
    import shutil

    shutil.copytree(stores[("pnw", "native")].path, workdir / "pnw-store")
    result = runner.invoke(app, ["train", "--store", "pnw-store", "--epochs", "1", "--batch-size", "32"])
    assert result.exit_code == 0, result.output
    tracking.configure(None)
    run = _runs("attpd/pnw")[0]
    assert run.data.params["store"] == str(workdir / "pnw-store")
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    result = runner.invoke(app, ["promote", "--model", "pd", "--dataset", "pnw", "--run-id", run.info.run_id,
                                 "--n-boot", "100", "--tracking-uri", f"sqlite:///{workdir / 'mlflow.db'}"])
    assert result.exit_code == 0, result.output
    assert "not a canonical store" not in result.output


def test_sigterm_during_a_command_ends_its_run_killed_and_says_so(workdir, capsys):
    """Issue 38 (interrupts): `kill -TERM` (what a batch scheduler sends) during `attpd train` left the run
    RUNNING for good. A command's SIGTERM now interrupts it like Ctrl-C: the run in progress ends KILLED with
    end_reason=interrupted (a pruned trial says trialpruned), the command prints one line and exits 130."""
    import os
    import signal

    import typer

    from attpd_bench.cli import _run_command

    tracking.configure(f"sqlite:///{workdir / 'mlflow.db'}")
    started = {}

    def long_command():
        with tracking.run("attpd/sigterm", "long", {"kind": "training"}) as log:
            started["run_id"] = log.run_id
            os.kill(os.getpid(), signal.SIGTERM)  # the scheduler's signal, delivered while the run is open
            for _ in range(1000):  # the handler runs between bytecodes
                pass
            raise AssertionError("SIGTERM did not interrupt the command")

    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(typer.Exit) as exit_:
        _run_command("train", long_command)
    assert exit_.value.exit_code == 130
    assert signal.getsignal(signal.SIGTERM) is previous  # the command's handler is gone with it
    err = capsys.readouterr().err
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err
    run = MlflowClient().get_run(started["run_id"])
    assert run.info.status == "KILLED" and run.data.tags["end_reason"] == "interrupted"


@pytest.mark.slow
def test_a_two_class_picker_trains_on_up_and_down_and_predicts_three_classes(stores, workdir):
    """Issue 37: `attpd train --model cfm` (a published binary picker, 160 samples) on a three-class store learns
    from its up and down traces only (with the flip augmentation: twice their number per epoch) and its logged
    model predicts (up, down, unknown) through `attpd predict` like any other, abstaining inside its band; it
    goes through promotion's gate, SKHASH's mechanisms, a study (its band searched from 0, the published use)
    and a transfer matrix as PD and Ross do."""
    import pandas as pd

    from attpd_bench.data.labels import DOWN, UP

    store = stores[("pnw", "native")]
    result = runner.invoke(app, ["train", "--model", "cfm", "--store", str(store.path), "--epochs", "1",
                                 "--batch-size", "32", "--hp", "band=0.3"])
    assert result.exit_code == 0, result.output
    tracking.configure(None)
    run = _runs("attpd/pnw")[0]
    assert run.info.status == "FINISHED" and run.data.tags["model"] == "cfm" and run.data.params["band"] == "0.3"
    signs = np.isin(store.labels("train"), (UP, DOWN)).sum()
    assert run.data.metrics["train_examples_per_epoch"] == 2 * signs
    predicted = runner.invoke(app, ["predict", "--model-uri", run.data.tags["model_uri"], "--input",
                                    str(store.path), "--output", str(workdir / "cfm.csv")])
    assert predicted.exit_code == 0, predicted.output
    table = pd.read_csv(workdir / "cfm.csv")
    probabilities = table[["p_up", "p_down", "p_unknown"]].to_numpy()
    assert len(table) == len(store) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    inside = probabilities[:, 2] == 1  # the band's abstentions: exactly (0, 0, 1)
    assert np.all(probabilities[~inside, 2] == 0)

    # ... and the rest of the day: promotion's gate, mechanisms from its polarities, a study, a transfer matrix
    promoted = runner.invoke(app, ["promote", "--model", "cfm", "--dataset", "pnw", "--dry-run"])
    assert promoted.exit_code == 0 and "promotion of attpd-cfm-pnw" in promoted.output, promoted.output
    mechanisms = runner.invoke(app, ["mechanisms", "--store", str(store.path), "--polarities",
                                     run.data.tags["model_uri"], "--split", "all", "--out", "mech"])
    assert mechanisms.exit_code == 0, mechanisms.output
    assert (workdir / "mech" / "mechanisms.csv").is_file()
    study = workdir / "cfm.toml"
    study.write_text('[study]\ndataset = "pnw"\nn_trials = 2\n[sampler]\nseed = 1\n[pruner]\nname = "none"\n'
                     '[training]\nepochs = 1\n[search.learning_rate]\ntype = "float"\nlow = 1e-4\nhigh = 1e-2\n'
                     'log = true\n[search.band]\ntype = "float"\nlow = 0.0\nhigh = 0.3\n')
    tuned = runner.invoke(app, ["tune", "--study", str(study), "--model", "cfm", "--store", str(store.path)])
    assert tuned.exit_code == 0, tuned.output
    import optuna

    from attpd_bench.tune import open_storage

    trials = optuna.load_study(study_name="pnw-cfm", storage=open_storage(None)).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"] and trials[0].params["band"] == 0.0
    transferred = runner.invoke(app, ["transfer", "--store", f"pnw={store.path}", "--store",
                                      f"hinet={stores[('hinet', 'native')].path}", "--models", "cfm,first-motion",
                                      "--epochs", "1", "--batch-size", "64", "--n-boot", "50"])
    assert transferred.exit_code == 0, transferred.output
