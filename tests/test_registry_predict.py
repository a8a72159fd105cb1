"""Promotion on the MLflow registry, prediction with the champion, and import of the original code's .h5 files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attpd_bench import registry, tracking
from attpd_bench.cli import app
from attpd_bench.data.preprocess import model_windows
from attpd_bench.errors import ConfigError
from attpd_bench.models import CUSTOM_OBJECTS, build_model
from attpd_bench.train import TrainConfig, fit, score_split
from tests.conftest import PG_URL, needs_postgres

pytestmark = pytest.mark.slow  # trains models, runs the demo or SKHASH: `make test-fast` skips this file

runner = CliRunner()


@pytest.fixture(scope="module")
def trained_pd(training_store):
    """PD trained once for this file's registry and predict tests (`make test` runs a file on one worker) on the
    training store, batch 16 (BatchNormalization's moving statistics need a few hundred steps before inference
    works), 4 epochs: the best by dev loss is the third, so 4 give the model 6 gave, and the restoring of the
    best epoch is exercised. The FitResult."""
    return fit(training_store, TrainConfig(model="pd", epochs=4, batch_size=16, seed=0))


@pytest.fixture(scope="module")
def good_model(trained_pd):
    return trained_pd.model


def test_pd_beats_chance_on_a_synthetic_region(training_store, trained_pd):
    scores = score_split(trained_pd.model, training_store, "test", "pd")
    majority = np.bincount(scores.labels, minlength=3).max() / len(scores.labels)
    assert scores.report["accuracy"] > majority + 0.1, scores.report
    assert scores.report["macro_f1"] > 0.5


@pytest.fixture
def workdir(workdir):
    tracking.configure(None)
    return workdir


def _model_run(model, store, dev_score: float, name: str) -> str:
    """A finished training run holding ``model``, as `attpd train` would leave it (without the training)."""
    tags = tracking.standard_tags(model="pd", dataset=store.dataset, store_fingerprint=store.fingerprint, seed=0,
                                  kind="training")
    with tracking.run(f"attpd/{store.dataset}", name, tags) as log:
        log.log_params({"store": str(store.path)})
        log.log_metrics({"dev_macro_f1": dev_score})
        example = model_windows(store.arrays("dev").waveforms[:4])[..., None]
        tracking.log_keras_model(model, example, CUSTOM_OBJECTS)
        return log.run_id


def _alias(name, alias):
    v = registry.alias_version(name, alias)
    return None if v is None else str(v.version)


def _constant_model(label: int):
    """A model that answers ``label`` for every trace (softmax of a bias only)."""
    import keras

    model = build_model("pd")
    dense = model.get_layer("po")
    kernel, bias = dense.get_weights()
    dense.set_weights([np.zeros_like(kernel), keras.ops.convert_to_numpy(10.0 * np.eye(3)[label])])
    return model


def _interval(d, prefix: str = "") -> str:
    return f"95% interval [{getattr(d, prefix + 'ci_low'):+.4f}, {getattr(d, prefix + 'ci_high'):+.4f}]"


def test_promotion_table(training_store, good_model, workdir):
    """Every row's decision and its exact reason, with a zero and a non-zero --min-gain."""
    name = "attpd-pd-pnw"
    counts = np.bincount(training_store.labels("dev"), minlength=3)  # the gate's split
    majority, rarest = int(counts.argmax()), int(counts.argmin())
    baseline = f"the majority-class baseline (always '{('up', 'down', 'unknown')[majority]}')"
    bad = _model_run(_constant_model(majority), training_store, 0.2, "majority-a")
    # no champion yet, but the first candidate must still beat the majority-class baseline: this one is it
    first = registry.promote("pd", "pnw", run_id=bad, n_boot=200)
    assert first.alias == "challenger" and first.baseline_difference == 0.0
    assert first.reason == f"fails the gate: 95% interval [+0.0000, +0.0000] of the macro_f1 difference over " \
                           f"{baseline} includes zero"
    assert _alias(name, "champion") is None and _alias(name, "challenger") == "1"

    better = _model_run(good_model, training_store, 0.8, "trained")
    d = registry.promote("pd", "pnw", n_boot=300)  # best run by dev_macro_f1 is `better`
    assert d.candidate_run_id == better and d.alias == "champion" and d.compared_version is None
    assert d.reason == f"no champion yet; macro_f1 {d.baseline_difference:+.4f} over {baseline} >= min gain " \
                       f"0.0, {_interval(d, 'baseline_')} above zero"
    assert d.baseline_ci_low > 0 and _alias(name, "champion") == "2"
    logged = MlflowClient().get_run(better).data.tags["model_uri"].removeprefix("models:/")
    links = json.loads(MlflowClient().get_logged_model(logged).tags["mlflow.modelVersions"])
    assert links == [{"name": name, "version": 2}]  # the LoggedModel's page shows it registered
    old = MlflowClient().get_model_version(name, "1")
    assert old.run_id == bad and old.tags["promotion.alias"] == "challenger"  # keeps its version and tags
    assert "promotion.champion_score" not in old.tags  # plain-string tags; unset values are left out

    worse = _model_run(_constant_model(rarest), training_store, 0.1, "rarest-class")
    d = registry.promote("pd", "pnw", run_id=worse, n_boot=300)
    assert d.alias == "challenger" and _alias(name, "champion") == "2" and _alias(name, "challenger") == "3"
    assert d.baseline_difference < 0
    assert d.reason == f"fails the gate: macro_f1 {d.baseline_difference:+.4f} over {baseline} is below min " \
                       f"gain 0.0"

    # as good as the champion, asked to be better by 0.05: passes the gate, not the champion
    twin = _model_run(good_model, training_store, 0.75, "twin")
    d = registry.promote("pd", "pnw", run_id=twin, n_boot=300, min_gain=0.05)
    assert d.alias == "challenger" and d.difference == 0.0 and _alias(name, "challenger") == "4"
    assert d.reason == "macro_f1 +0.0000 over the champion is below min gain 0.05"

    # dry run: decides, changes nothing
    versions = len(MlflowClient().search_model_versions(f"name = '{name}'"))
    d = registry.promote("pd", "pnw", run_id=_model_run(good_model, training_store, 0.7, "copy"), dry_run=True)
    assert d.dry_run and len(MlflowClient().search_model_versions(f"name = '{name}'")) == versions
    assert d.reason == f"{_interval(d)} of the macro_f1 difference over the champion includes zero"
    assert _alias(name, "champion") == "2"

    # the same run twice -> the same version
    again = registry.promote("pd", "pnw", run_id=better)
    assert again.candidate_version == "2" and again.reason == "candidate is already the champion"
    assert len(MlflowClient().search_model_versions(f"name = '{name}'")) == versions

    # decision recorded as version tags, a JSON artifact and a promotion run
    tags = MlflowClient().get_model_version(name, "2").tags
    assert tags["promotion.alias"] == "champion" and float(tags["promotion.baseline_ci_low"]) > 0
    runs = tracking.search_runs("attpd/pnw", "tags.kind = 'promotion'")
    assert len(runs) == 6


def _less_sure(model, unknown_bias: float):
    """A copy of ``model`` that answers "unknown" more often (a worse model that still beats the baseline)."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    kernel, bias = copy.get_layer("po").get_weights()
    copy.get_layer("po").set_weights([kernel, bias + np.array([0.0, 0.0, unknown_bias], dtype=bias.dtype)])
    return copy


def test_racing_promotions_of_different_candidates_leave_one_evaluated_champion(training_store, good_model,
                                                                                  workdir):
    """Two promotions at once, a better and a worse candidate (both beat the baseline): whichever goes first,
    the better one ends champion, and every decision was made against the champion of its moment."""
    name = "attpd-pd-pnw"
    better = _model_run(good_model, training_store, 0.8, "better")
    worse = _model_run(_less_sure(good_model, 4.0), training_store, 0.7, "worse")
    majority = int(np.bincount(training_store.labels("test")).argmax())
    registry.promote("pd", "pnw", run_id=_model_run(_constant_model(majority), training_store, 0.1, "base"),
                     n_boot=100)  # the registered model exists (a challenger: it fails the gate)
    decisions, errors = {}, []

    def go(run_id):
        try:
            decisions[run_id] = registry.promote("pd", "pnw", run_id=run_id, n_boot=100)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(r,)) for r in (worse, better)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    champion = registry.alias_version(name, "champion")
    assert champion.run_id == better and champion.tags["promotion.alias"] == "champion"
    first, second = sorted(decisions.values(), key=lambda d: d.compared_version is not None)
    assert first.compared_version is None and first.alias == "champion"  # the first one met no champion
    assert second.compared_version == first.candidate_version  # the second one met the first
    assert decisions[worse].alias == ("champion" if first is decisions[worse] else "challenger")


@pytest.mark.parametrize("uri", ["sqlite", pytest.param("postgresql", marks=needs_postgres)])
def test_promotion_lock_serialises_processes_of_one_tracking_store(tmp_path, uri, postgresql_turn):
    """What two promotions of one registered model hold, in two processes as two `attpd promote` would be: the
    second enters only when the first has left, on SQLite (a file lock beside the database) and on PostgreSQL
    (an advisory lock in the tracking database)."""
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}" if uri == "sqlite" else PG_URL
    holder = ("import sys, time, mlflow\n"
              "from attpd_bench import tracking\n"
              "mlflow.set_tracking_uri(sys.argv[1])\n"
              "with tracking.exclusive('promote-attpd-pd-lock-test') as locked:\n"
              "    entered = time.time()\n"
              "    time.sleep(1.0)\n"
              "    print(locked, entered, time.time())\n")
    processes = []
    for _ in range(2):
        processes.append(subprocess.Popen([sys.executable, "-c", holder, tracking_uri], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent))
        time.sleep(0.2)
    held = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        locked, entered, left = out.split()
        assert locked == "True"
        held.append((float(entered), float(left)))
    # whoever connects first enters first; what the lock guarantees is that the two never overlap
    (first_in, first_out), (second_in, second_out) = sorted(held)
    assert second_in >= first_out, held


def test_promotion_needs_the_candidates_own_data_set(stores, training_store, good_model, workdir):
    run = _model_run(good_model, training_store, 0.8, "a pnw model")
    with pytest.raises(ConfigError, match="was trained on 'pnw', not 'scsn'"):
        registry.promote("pd", "scsn", run_id=run, n_boot=100)
    with pytest.raises(ConfigError, match="holds 'scsn', not 'pnw'"):
        registry.promote("pd", "pnw", run_id=run, store=stores[("scsn", "native")], n_boot=100)
    assert MlflowClient().search_registered_models() == []


def test_sign_accuracy_cannot_rank_promotions(training_store, good_model, workdir):
    run = _model_run(good_model, training_store, 0.8, "m")
    result = runner.invoke(app, ["promote", "--model", "pd", "--dataset", "pnw", "--run-id", run,
                                 "--metric", "sign_accuracy"])
    assert result.exit_code == 1 and "sign_accuracy cannot rank promotions" in result.output
    assert "sign_coverage" in result.output and MlflowClient().search_registered_models() == []


def test_min_score_gate(training_store, good_model, workdir):
    run = _model_run(good_model, training_store, 0.8, "m")
    d = registry.promote("pd", "pnw", run_id=run, n_boot=100, min_score=0.999)
    assert d.alias == "challenger" and "below --min-score 0.999" in d.reason
    assert _alias("attpd-pd-pnw", "champion") is None


def test_promotion_refuses_other_store(stores, training_store, good_model, workdir):
    run = _model_run(good_model, training_store, 0.5, "x")
    with pytest.raises(ConfigError, match="fingerprint"):
        registry.promote("pd", "pnw", run_id=run, store=stores[("pnw", "native")])
    assert MlflowClient().search_registered_models() == []


def test_champion_loads_in_a_fresh_process_and_predict_writes_every_trace(training_store, good_model, workdir):
    registry.promote("pd", "pnw", run_id=_model_run(good_model, training_store, 0.8, "g"))
    uri = "models:/attpd-pd-pnw@champion"
    x = model_windows(training_store.arrays("test").waveforms[:16])[..., None]
    np.save(workdir / "x.npy", x)
    code = ("import mlflow, numpy as np; mlflow.set_tracking_uri('sqlite:///mlflow.db'); "
            f"np.save('p.npy', np.asarray(mlflow.pyfunc.load_model({uri!r}).predict(np.load('x.npy'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(workdir / "p.npy"), good_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)

    for suffix in ("csv", "parquet"):
        out = workdir / f"pred.{suffix}"
        result = runner.invoke(app, ["predict", "--model-uri", uri, "--input", str(training_store.path),
                                     "--output", str(out), "--skhash-out", str(workdir / "skhash"),
                                     "--overwrite"])  # the second round replaces the first's SKHASH set
        assert result.exit_code == 0, result.output
        table = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
        assert len(table) == len(training_store)
        np.testing.assert_allclose(table[["p_up", "p_down", "p_unknown"]].sum(axis=1), 1.0, atol=1e-5)
        assert set(table["label"]) <= {"U", "D", "K"}
        assert table["source_trace_name"].tolist() == training_store.metadata["source_trace_name"].tolist()
    pol = pd.read_csv(workdir / "skhash" / "polarities.csv", dtype={"event_id": str, "station": str})
    decided = table[table["label"] != "K"].astype({"source_id": str, "station_code": str})
    assert len(pol) == len(decided)
    # the weight is the predicted class's probability, signed by it (SKHASH: positive = up)
    joined = pol.merge(decided, left_on=["event_id", "station"], right_on=["source_id", "station_code"])
    assert len(joined) == len(pol)
    expected = np.where(joined["label"] == "U", joined["p_up"], -joined["p_down"])
    np.testing.assert_allclose(joined["p_polarity"], expected, atol=1e-4)
    assert (pol["p_polarity"].abs() > 1 / 3 - 1e-4).all() and (pol["p_polarity"].abs() <= 1).all()
    catalog = pd.read_csv(workdir / "skhash" / "catalog.csv", dtype={"event_id": str})
    assert set(pol["event_id"]) <= set(catalog["event_id"])


def test_predict_raw_layout_lists_bad_traces(raw_regions, good_model, workdir):
    folder = workdir / "raw"
    shutil.copytree(raw_regions[("pnw", "native")], folder)
    import h5py

    meta = pd.read_csv(folder / "comcat_metadata.csv", dtype=str, keep_default_na=False)
    bucket, row = meta["trace_name"][0].split("$")
    with h5py.File(folder / "comcat_waveforms.hdf5", "a") as h5:
        h5[f"data/{bucket}"][int(row.split(",")[0]), 2, 5000] = np.nan
    good_model.save(workdir / "m.keras")
    out = workdir / "raw.csv"
    result = runner.invoke(app, ["predict", "--model-uri", str(workdir / "m.keras"), "--input", str(folder),
                                 "--dataset", "pnw", "--output", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    skipped = pd.read_csv(workdir / "raw.csv.skipped.csv")
    assert skipped["source_trace_name"].tolist() == [meta["trace_name"][0]]
    assert len(table) == len(meta) - 1  # the blank-polarity trace is predicted too, its analyst label blank
    blank = meta.loc[meta["trace_P_polarity"] == "", "trace_name"]
    assert (table.set_index("source_trace_name").loc[blank, "analyst_label"] == "").all()


def test_predict_bad_inputs(raw_regions, good_model, workdir):
    folder = workdir / "raw"
    shutil.copytree(raw_regions[("pnw", "native")], folder)
    result = runner.invoke(app, ["predict", "--model-uri", "models:/attpd-pd-nowhere@champion", "--input",
                                 str(folder), "--dataset", "pnw", "--output", "y.csv"])
    assert result.exit_code == 1 and "cannot load model 'models:/attpd-pd-nowhere@champion'" in result.output
    meta = pd.read_csv(folder / "comcat_metadata.csv")
    meta.drop(columns="trace_P_arrival_sample").to_csv(folder / "comcat_metadata.csv", index=False)
    good_model.save(workdir / "m.keras")
    result = runner.invoke(app, ["predict", "--model-uri", str(workdir / "m.keras"), "--input", str(folder),
                                 "--dataset", "pnw", "--output", str(workdir / "o.csv")])
    assert result.exit_code == 1 and "missing column(s) 'trace_P_arrival_sample'" in result.output
    assert not (workdir / "o.csv").exists()


ORIGINAL_WRITER = textwrap.dedent("""
    import os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # Keras 2 (tf-keras), as the original code ran
    import numpy as np
    from tensorflow import keras
    from tensorflow.keras.layers import Input, Dense, Flatten, Conv1D, MaxPooling1D, BatchNormalization
    from keras_self_attention import SeqSelfAttention

    # bulid_pd_model of the original code, layer for layer
    inp = Input(shape=(400, 1), name="input")
    x = inp
    for filters, kernel in ((16, 5), (32, 3), (64, 3)):
        x = Conv1D(filters, kernel, padding="same", activation="relu")(x)
        x = MaxPooling1D(2)(x)
        x = BatchNormalization()(x)
    x = keras.layers.LSTM(units=128, return_sequences=True)(x)
    at_x, wt = SeqSelfAttention(return_attention=True, attention_width=20, attention_activation="relu",
                                name="Atten")(x)
    x = Dense(128, activation="relu")(Flatten()(at_x))
    model = keras.models.Model(inp, Dense(3, activation="softmax", name="po")(x))
    # move BatchNormalization statistics away from their initial values so the check is not trivial
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            w = layer.get_weights()
            layer.set_weights([w[0] * 1.5, w[1] + 0.1, w[2] + 0.2, w[3] * 2.0])
    model.save("pd_model_scsn.h5")
    model.save_weights("pd_model_scsn_wt.h5")
    x = np.random.default_rng(0).standard_normal((16, 400, 1)).astype("float32")
    np.save("x.npy", x)
    np.save("p.npy", model.predict(x, verbose=0))
""")


def test_import_h5_round_trip(workdir):
    done = subprocess.run([sys.executable, "-c", ORIGINAL_WRITER], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    x, expected = np.load(workdir / "x.npy"), np.load(workdir / "p.npy")
    for version, file in (("1", "pd_model_scsn.h5"), ("2", "pd_model_scsn_wt.h5")):
        result = runner.invoke(app, ["import-h5", "--file", str(workdir / file), "--model", "bulid_pd_model",
                                     "--dataset", "scsn"])
        assert result.exit_code == 0, result.output
        model = tracking.load_keras_model(f"models:/attpd-pd-scsn/{version}")
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)

    # an .h5 of another architecture: clear error, nothing registered
    result = runner.invoke(app, ["import-h5", "--file", str(workdir / "pd_model_scsn.h5"), "--model", "ross",
                                 "--dataset", "scsn"])
    assert result.exit_code == 1 and "does not fit the 'ross' architecture" in result.output
    assert [m.name for m in MlflowClient().search_registered_models()] == ["attpd-pd-scsn"]
    (workdir / "junk.h5").write_text("not hdf5")
    result = runner.invoke(app, ["import-h5", "--file", str(workdir / "junk.h5"), "--model", "pd",
                                 "--dataset", "scsn"])
    assert result.exit_code == 1 and "not an HDF5 file" in result.output


def test_predict_with_no_up_or_down_pick_writes_an_empty_skhash_file(training_store, workdir):
    _constant_model(2).save(workdir / "unknown.keras")  # answers "unknown" for every trace
    result = runner.invoke(app, ["predict", "--model-uri", str(workdir / "unknown.keras"), "--input",
                                 str(training_store.path), "--output", str(workdir / "p.csv"), "--skhash-out",
                                 str(workdir / "skhash")])
    assert result.exit_code == 0, result.output
    assert "0 SKHASH picks" in result.output and "no trace was predicted up or down" in result.output
    pol = pd.read_csv(workdir / "skhash" / "polarities.csv")
    assert len(pol) == 0 and {"event_id", "network", "station", "p_polarity"} <= set(pol.columns)


def test_promote_without_a_run_says_which_run_it_picked_and_why(training_store, good_model, workdir):
    _model_run(good_model, training_store, 0.6, "worse")
    best = _model_run(good_model, training_store, 0.8, "best")
    result = runner.invoke(app, ["promote", "--model", "pd", "--dataset", "pnw", "--dry-run", "--n-boot", "100"])
    assert result.exit_code == 0, result.output[-2000:]
    assert f"candidate: run {best} (best)" in result.output
    assert "the best of 2 finished training runs of pd on pnw by dev_macro_f1 (0.8000)" in result.output


def test_no_gate_decision_on_a_single_event():
    """Issue 38: a one-event dev split (a store of one's own recordings) passed the gate with a zero-width
    interval ('95% interval [+0.5722, +0.5722] above zero'); the bootstrap cannot resample one event, so the
    gate refuses to decide and says why; with two events it decides as before."""
    from types import SimpleNamespace

    from attpd_bench import metrics as M
    from attpd_bench.registry import _gate

    labels = np.array([0, 1, 2, 0, 1] * 4)
    perfect = SimpleNamespace(labels=labels, predictions=labels.copy(), events=np.array(["e1"] * 20),
                              report=M.classification_report(labels, labels))
    gate = _gate("macro_f1", 0.0, None, perfect, 2, 200, 0)
    assert not gate["passed"] and "1 event" in gate["reason"] and "at least 2" in gate["reason"]
    two = SimpleNamespace(**{**vars(perfect), "events": np.array(["e1", "e2"] * 10)})
    assert _gate("macro_f1", 0.0, None, two, 2, 200, 0)["passed"]


CFM_WRITER = textwrap.dedent("""
    import os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # Keras 2 (tf-keras), as published pickers were saved
    import numpy as np
    from tensorflow import keras
    from tensorflow.keras import layers

    def cfm(dense_units):
        # the authors' CFM layer for layer (Messuti et al. 2023), a Sequential model of Keras 2
        return keras.Sequential([keras.Input(shape=(160, 1)),
            layers.Conv1D(32, 5, padding="same", activation="relu"), layers.Dropout(0.2),
            layers.Conv1D(64, 4, activation="relu"), layers.MaxPooling1D(2),
            layers.Conv1D(128, 3, activation="relu"), layers.MaxPooling1D(2),
            layers.Conv1D(256, 5, padding="same", activation="relu"), layers.Dropout(0.2),
            layers.Conv1D(128, 3, activation="relu"), layers.MaxPooling1D(2), layers.Flatten(),
            layers.Dense(dense_units, activation="relu"), layers.Dense(1, activation="sigmoid")])

    model = cfm(50)
    model.save("cfm_instance.h5")
    cfm(60).save_weights("cfm_wider_wt.h5")
    x = np.random.default_rng(0).standard_normal((16, 160, 1)).astype("float32")
    np.save("x.npy", x)
    np.save("p.npy", model.predict(x, verbose=0))
""")


def test_import_model_brings_a_published_pickers_keras_file_in(workdir):
    """Issue 37, item 4: `attpd import-model --model cfm --weights FILE --dataset NAME` registers a published
    Keras 2 file as a version of attpd-cfm-NAME: its p(up) is the imported model's up probability; a file whose
    layers do not fit is refused naming the first layer that does not, and nothing is registered."""
    done = subprocess.run([sys.executable, "-c", CFM_WRITER], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    x, expected = np.load(workdir / "x.npy"), np.load(workdir / "p.npy")
    result = runner.invoke(app, ["import-model", "--model", "cfm", "--weights", str(workdir / "cfm_instance.h5"),
                                 "--dataset", "instance"])
    assert result.exit_code == 0, result.output
    model = tracking.load_keras_model("models:/attpd-cfm-instance/1")
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, 0], expected[:, 0], rtol=1e-5, atol=1e-6)
    result = runner.invoke(app, ["import-model", "--model", "cfm", "--weights", str(workdir / "cfm_wider_wt.h5"),
                                 "--dataset", "instance"])
    assert result.exit_code == 1, result.output
    assert "its layer 'dense_2' holds weights (2304, 60), (60,) where the architecture's layer 'dense' has " \
        "(2304, 50), (50,)" in " ".join(result.output.split())
    assert len(MlflowClient().search_model_versions("name='attpd-cfm-instance'")) == 1
