"""Shared fixtures: tiny synthetic regions in each published layout, written once per test session."""

from __future__ import annotations

import os
import socket

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

import pytest

from attpd_bench.data.prepare import prepare_store
from attpd_bench.data.synth import write_region

PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"  # every machine, CI's included, runs it


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


needs_postgres = pytest.mark.skipif(not _postgres_reachable(),
                                    reason="PostgreSQL is not reachable on 127.0.0.1:5432 (CI starts it)")

# `make test` runs the suite on two pytest-xdist workers (`--dist loadgroup`). Each test file goes to one worker
# whole, so a module's fixture (the tiny demo, the closure's region) is built once; files that share an expensive
# session fixture or a server go to the same one: the trained PD model (test_train, test_registry_predict), and
# MLflow's tables in the PostgreSQL database, which two processes must not create at once (test_tune,
# test_registry_predict).
SHARED_WORKER = {"test_train": "trained-pd-and-postgresql", "test_registry_predict": "trained-pd-and-postgresql",
                 "test_tune": "trained-pd-and-postgresql"}


def pytest_collection_modifyitems(items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        item.add_marker(pytest.mark.xdist_group(SHARED_WORKER.get(module, module)))


LAYOUTS = [("ins", "native"), ("ins", "seisbench"), ("hinet", "native"), ("scsn", "native"), ("pnw", "native")]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working folder: the embedded MLflow database and Optuna journal land here."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def raw_regions(tmp_path_factory):
    """{(region, layout): folder} with ~100-250 traces each."""
    root = tmp_path_factory.mktemp("raw")
    out = {}
    for region, layout in LAYOUTS:
        folder = root / f"{region}-{layout}"
        write_region(region, 12, folder, seed=3, layout=layout, bucket_size=64)
        out[(region, layout)] = folder
    return out


@pytest.fixture(scope="session")
def stores(raw_regions, tmp_path_factory):
    """{(region, layout): PolarityStore} prepared with seed 0."""
    root = tmp_path_factory.mktemp("stores")
    return {key: prepare_store(key[0], folder, root / f"{key[0]}-{key[1]}", seed=0)[0]
            for key, folder in raw_regions.items()}


@pytest.fixture(scope="session")
def training_store(tmp_path_factory):
    """A PNW-like region big enough to learn from (~1,500 traces), shared by model tests."""
    root = tmp_path_factory.mktemp("train")
    write_region("pnw", 75, root / "raw", seed=11)
    return prepare_store("pnw", root / "raw", root / "store", seed=0)[0]


@pytest.fixture(scope="session")
def trained_pd(training_store):
    """PD trained once per test run on the training store (6 epochs, batch 16: BatchNormalization's moving
    statistics need a few hundred steps before inference works), shared by the training, registry and predict
    tests: the FitResult."""
    from attpd_bench.train import TrainConfig, fit

    return fit(training_store, TrainConfig(model="pd", epochs=6, batch_size=16, seed=0))
