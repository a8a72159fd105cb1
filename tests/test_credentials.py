"""No password reaches a run, a log line or a process list (issue 20, item 5)."""

from __future__ import annotations

import numpy as np
from mlflow.tracking import MlflowClient

from attpd_bench import tracking, tune

SECRET = "hunter2-s3cret"
URL = f"postgresql+psycopg2://alice:{SECRET}@db.example.org:5432/optuna"


def test_passwords_are_masked_in_text_and_command_lines():
    assert tracking.mask_credentials(f"attpd tune --storage {URL} --tracking-uri http://bob:pw@host:5000") == \
        "attpd tune --storage postgresql+psycopg2://alice:***@db.example.org:5432/optuna " \
        "--tracking-uri http://bob:***@host:5000"
    assert tracking.mask_credentials("sqlite:///mlflow.db and /a/b:c@d") == "sqlite:///mlflow.db and /a/b:c@d"
    token = tracking.invoked_command.set(f"attpd tune --storage {URL}")
    try:
        tags = tracking.standard_tags(model="pd", dataset="pnw", store_fingerprint=None, seed=0, storage=URL)
    finally:
        tracking.invoked_command.reset(token)
    assert all(SECRET not in value for value in tags.values()) and "alice:***@" in tags["command"]


def test_a_run_never_records_the_password(workdir):
    tracking.configure(None)
    token = tracking.invoked_command.set(f"attpd tune --storage {URL}")
    try:
        tags = tracking.standard_tags(model="pd", dataset="pnw", store_fingerprint=None, seed=0)
        with tracking.run("attpd/pnw", "r", tags) as log:
            log.log_params({"storage": URL, "n": 3})
            log.set_tags({"storage_url": URL})
            run_id = log.run_id
    finally:
        tracking.invoked_command.reset(token)
    run = MlflowClient().get_run(run_id)
    assert SECRET not in str(run.data.params) and SECRET not in str(run.data.tags)
    assert run.data.params["storage"].startswith("postgresql+psycopg2://alice:***@")


def test_tuning_workers_get_the_storage_through_their_environment(monkeypatch):
    started = []

    class FakeProcess:
        def __init__(self, argv, env):
            started.append((argv, env))

        def wait(self):
            return 0

    monkeypatch.setattr(tune.subprocess, "Popen", FakeProcess)
    tune.run_workers(["--study", "s.toml"], n_trials=4, workers=2,
                     env={"MLFLOW_TRACKING_URI": "http://bob:pw@host", tune.STORAGE_ENV: URL})
    assert len(started) == 2
    for argv, env in started:
        assert not any(SECRET in a or "pw@" in a for a in argv), argv
        assert env[tune.STORAGE_ENV] == URL and env["MLFLOW_TRACKING_URI"] == "http://bob:pw@host"


def test_a_prediction_run_names_the_version_its_alias_pointed_to(stores, workdir):
    """Issue 20, item 10: once the alias moves, `models:/...@champion` no longer says what was used; the run
    also records the resolved version and its training run."""
    from typer.testing import CliRunner

    from attpd_bench.cli import app
    from attpd_bench.models import CUSTOM_OBJECTS, build_model

    tracking.configure(None)
    with tracking.run("attpd/pnw", "champion", {"kind": "training", "model": "ross"}) as log:
        model_uri = tracking.log_keras_model(build_model("ross"), np.zeros((2, 400, 1), dtype=np.float32),
                                             CUSTOM_OBJECTS)
        run_id = log.run_id
    client = MlflowClient()
    client.create_registered_model("attpd-ross-pnw")
    version = client.create_model_version("attpd-ross-pnw", model_uri, run_id=run_id)
    client.set_registered_model_alias("attpd-ross-pnw", "champion", version.version)
    result = CliRunner().invoke(app, ["predict", "--model-uri", "models:/attpd-ross-pnw@champion", "--input",
                                      str(stores[("pnw", "native")].path), "--output", "p.csv"])
    assert result.exit_code == 0, result.output
    predict_run = client.search_runs([client.get_experiment_by_name("attpd/predict").experiment_id])[0]
    tags = predict_run.data.tags
    assert tags["resolved_model_uri"] == f"models:/attpd-ross-pnw/{version.version}"
    assert tags["model_version"] == str(version.version) and tags["model_run_id"] == run_id
