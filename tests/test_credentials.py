"""No password reaches a run, a log line or a process list (issue 20, item 5)."""

from __future__ import annotations

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
