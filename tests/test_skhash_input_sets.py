"""SKHASH's input sets as the suite writes them, each run by SKHASH itself: `predict --skhash-out` on a store,
`attpd mechanisms`' set rerun by hand from another folder, and the set from a user's files without coordinates
(its own file beside the closure's, so pytest-xdist can give it a worker of its own)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from attpd_bench.cli import app
from attpd_bench.data.prepare import prepare_store
from attpd_bench.data.synth import write_region
from attpd_bench.focal import skhash
from attpd_bench.focal.velocity import MODELS
from attpd_bench.models import build_model

runner = CliRunner()


@pytest.fixture(scope="module")
def small_region(tmp_path_factory):
    """30 PNW-like events and their store: enough for SKHASH to read every file of a set (the tests of a set's
    completeness run SKHASH on this one; the closure target and the audit need the 100 events above)."""
    root = tmp_path_factory.mktemp("closure-small")
    write_region("pnw", 30, root / "raw", seed=21)
    store = prepare_store("pnw", root / "raw", root / "store", seed=0)[0]
    return root, store


def _constant_up(tmp_path):
    model = build_model("pd")
    kernel, bias = model.get_layer("po").get_weights()
    model.get_layer("po").set_weights([np.zeros_like(kernel), np.array([2.0, 0.0, 0.0], dtype=bias.dtype)])
    model.save(tmp_path / "up.keras")
    return tmp_path / "up.keras"


@pytest.mark.slow
def test_predict_skhash_set_runs_in_skhash_as_written(small_region, tmp_path, monkeypatch):
    """`attpd predict --skhash-out DIR` on a synthetic store: SKHASH runs DIR/control.txt with its defaults, no
    hand-made file; every pick matches a station and an origin; weights are the probabilities."""
    root, store = small_region
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = runner.invoke(app, ["predict", "--model-uri", str(_constant_up(tmp_path)), "--input",
                                 str(store.path), "--output", "p.csv", "--skhash-out", "skhash set"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "skhash set"  # SKHASH splits control values at spaces: the set names its files relatively
    picks = pd.read_csv(folder / "polarities.csv", dtype=str, keep_default_na=False)
    stations = pd.read_csv(folder / "stations.csv", dtype=str, keep_default_na=False)
    catalog = pd.read_csv(folder / "catalog.csv", dtype=str)
    assert len(picks) == len(store)
    p_up = np.exp(2.0) / (np.exp(2.0) + 2)
    np.testing.assert_allclose(picks["p_polarity"].astype(float), p_up, atol=1e-4)
    codes = ["network", "station", "location", "channel"]
    assert picks[codes].apply(tuple, axis=1).isin(set(stations[codes].apply(tuple, axis=1))).all()
    assert set(picks["event_id"]) <= set(catalog["event_id"])
    mechanisms = skhash.run(folder / "control.txt")  # raises on any SKHASH error
    assert len(mechanisms) > 0 and set(mechanisms["event_id"]) <= set(picks["event_id"])


@pytest.mark.slow
def test_mechanisms_input_set_reruns_by_hand_from_elsewhere(small_region, tmp_path, monkeypatch):
    """`attpd skhash OUT/skhash/control.txt`, as `attpd mechanisms` prints it, run by hand from another folder
    gives the mechanisms the run reported."""
    root, store = small_region
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = runner.invoke(app, ["mechanisms", "--store", str(store.path), "--polarities", "true", "--truth",
                                 str(root / "raw" / "truth.csv"), "--split", "all", "--out", "true",
                                 "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "true" / "skhash"
    assert f"rerun: attpd skhash {folder / skhash.CONTROL_FILE}" in " ".join(result.output.split())
    before = (folder / skhash.MECHANISM_FILE).read_text()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([str(Path(sys.executable).parent / "attpd"), "skhash", str(folder / skhash.CONTROL_FILE)],
                          cwd=elsewhere, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (folder / skhash.MECHANISM_FILE).read_text() == before and len(before.splitlines()) > 1


@pytest.mark.slow
def test_skhash_set_from_the_users_files_where_the_data_has_no_coordinates(small_region, tmp_path, monkeypatch):
    """A published layout without coordinates (as real SCSN files): the error names the three files; given
    them (here written from the truth), the set is complete."""
    root, store = small_region
    raw = tmp_path / "raw"
    shutil.copytree(root / "raw", raw)
    (raw / "synth.json").unlink()  # a downloaded data set: no truth to fall back on
    meta = pd.read_csv(raw / "comcat_metadata.csv")
    meta.drop(columns=[c for c in meta if c.endswith(("latitude_deg", "longitude_deg", "depth_km"))]).to_csv(
        raw / "comcat_metadata.csv", index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    model = str(_constant_up(tmp_path))
    argv = ["predict", "--model-uri", model, "--input", "raw", "--dataset", "pnw", "--output", "p.csv",
            "--skhash-out", "skh"]
    refused = runner.invoke(app, argv)
    assert refused.exit_code == 1
    for option in ("--stations", "--catalog", "--velocity-model"):
        assert option in refused.output
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "skh").exists()

    truth = pd.read_csv(root / "raw" / "truth.csv", dtype={"event_id": str})
    stations = truth.drop_duplicates("station").assign(location="--", channel="HHZ", elevation=0.0)
    stations.rename(columns={"station_latitude_deg": "latitude", "station_longitude_deg": "longitude"})[
        ["network", "station", "location", "channel", "latitude", "longitude", "elevation"]].to_csv(
        "stations.csv", index=False)
    events = truth.drop_duplicates("event_id")
    pd.DataFrame({"event_id": events["event_id"], "time": events["origin_time"],
                  "latitude": events["source_latitude_deg"], "longitude": events["source_longitude_deg"],
                  "depth": events["source_depth_km"]}).to_csv("catalog.csv", index=False)
    MODELS["pnw"].write(tmp_path / "vm.txt")
    accepted = runner.invoke(app, [*argv, "--stations", "stations.csv", "--catalog", "catalog.csv",
                                   "--velocity-model", "vm.txt"])
    assert accepted.exit_code == 0, accepted.output
    assert (tmp_path / "skh" / "velocity_model.txt").read_text() == (tmp_path / "vm.txt").read_text()
    skhash.run(tmp_path / "skh" / "control.txt")
