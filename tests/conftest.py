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


@pytest.fixture
def postgresql_turn():
    """PG_URL, held by one test at a time across `make test`'s pytest-xdist workers: MLflow and Optuna create
    their tables in the one database on first use, and two processes creating them at once can collide."""
    import fcntl
    import tempfile
    from pathlib import Path

    with open(Path(tempfile.gettempdir()) / "attpd-bench-tests-postgresql.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield PG_URL

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
    """A PNW-like region big enough to learn from (~3,300 traces), shared by model tests; its unread picks read
    (`--unread read`, as the demo prepares), so a label depends on the waveform alone."""
    root = tmp_path_factory.mktemp("train")
    write_region("pnw", 75, root / "raw", seed=11)
    return prepare_store("pnw", root / "raw", root / "store", seed=0, unread="read")[0]
