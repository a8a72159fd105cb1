"""`attpd evaluate` and `attpd transfer` end to end on small synthetic stores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attpd_bench import tracking
from attpd_bench.cli import app
from attpd_bench.train import TrainConfig, fit
from attpd_bench.transfer import run_transfer

pytestmark = pytest.mark.slow  # trains models, runs the demo or SKHASH: `make test-fast` skips this file

runner = CliRunner()



def test_evaluate_a_model_file(stores, workdir):
    store = stores[("hinet", "native")]
    model = fit(store, TrainConfig(model="pd", epochs=1, batch_size=32, hyperparameters={"lstm_units": 16})).model
    model.save(workdir / "pd.keras")
    result = runner.invoke(app, ["evaluate", "--model-uri", str(workdir / "pd.keras"), "--store", str(store.path),
                                 "--split", "test", "--n-boot", "200", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    n_test = len(store.rows("test"))
    assert out["metrics"]["n"] == n_test and np.array(out["metrics"]["confusion"]).sum() == n_test
    for key in ("accuracy", "macro_f1", "sign_accuracy", "Pre_U", "Re_K", "TP_U", "FFP_D"):
        assert key in out["metrics"]
    lo, hi = out["intervals_95"]["accuracy"]
    assert lo <= out["metrics"]["accuracy"] <= hi
    assert sum(r["n"] for r in out["accuracy_by_snr"]) == n_test
    tracking.configure(None)
    runs = tracking.search_runs("attpd/hinet")
    assert len(runs) == 1 and runs[0].data.tags["kind"] == "evaluation"
    assert runs[0].data.metrics["test_accuracy"] == pytest.approx(out["metrics"]["accuracy"])
    assert "test_accuracy_ci_low" in runs[0].data.metrics
    # the printed tables: a long model URI stays whole in the title (no mid-word wrap), by SNR bin too
    shown = runner.invoke(app, ["evaluate", "--model-uri", str(workdir / "pd.keras"), "--store", str(store.path),
                                "--split", "test", "--n-boot", "100"])
    assert shown.exit_code == 0 and f"{workdir / 'pd.keras'} on hinet test" in shown.output, shown.output[:800]
    assert "accuracy by SNR" in shown.output
    # issue 37 item 3: test-time shifts, the mean over shifted windows; the run keeps the shifts and the spread
    shifted = runner.invoke(app, ["evaluate", "--model-uri", str(workdir / "pd.keras"), "--store", str(store.path),
                                  "--split", "test", "--n-boot", "100", "--shifts", "3", "--shift-samples", "20",
                                  "--run-name", "shifted"])
    assert shifted.exit_code == 0, shifted.output
    run = [r for r in tracking.search_runs("attpd/hinet") if r.info.run_name == "shifted"][0]
    assert run.data.params["shifts"] == "3" and 0 <= run.data.metrics["test_p_spread_median"] <= 1
    refused = runner.invoke(app, ["evaluate", "--model-uri", str(workdir / "pd.keras"), "--store", str(store.path),
                                  "--shifts", "3", "--shift-samples", "101"])
    assert refused.exit_code == 1 and "--shift-samples 101" in refused.output and "at most 100" in refused.output


def test_evaluate_bad_uri(stores, workdir):
    result = runner.invoke(app, ["evaluate", "--model-uri", "models:/attpd-pd-nowhere@champion",
                                 "--store", str(stores[("hinet", "native")].path)])
    assert result.exit_code == 1 and "cannot load model 'models:/attpd-pd-nowhere@champion'" in result.output


def test_transfer_matrices_reuse_and_runs(stores, workdir):
    tracking.configure(None)
    picked = {"hinet": stores[("hinet", "native")], "pnw": stores[("pnw", "native")]}  # 2x2 has off-diagonals
    base = TrainConfig(epochs=1, batch_size=64, seed=0)
    first = run_transfer(["pd", "ross"], picked, base, n_boot=100)
    names = ["hinet", "pnw"]
    for model in ("pd", "ross"):
        for metric in ("accuracy", "macro_f1", "sign_accuracy"):
            matrix = first.matrices[model][metric]
            assert matrix.shape == (2, 2) and list(matrix.index) == names and list(matrix.columns) == names
    diff = first.difference_matrix()
    assert diff.shape == (2, 2)
    np.testing.assert_allclose(diff.to_numpy(), first.matrices["pd"]["macro_f1"].to_numpy()
                               - first.matrices["ross"]["macro_f1"].to_numpy(), atol=1e-12)
    assert ((first.difference["ci_low"] <= first.difference["difference"] + 1e-12)
            & (first.difference["difference"] <= first.difference["ci_high"] + 1e-12)).all()
    assert not any(first.reused.values())
    # one cell recomputed independently: the source's saved model on the target's test split, scikit-learn
    from sklearn.metrics import f1_score

    from attpd_bench.data.preprocess import model_windows

    saved = MlflowClient().get_run(first.training_runs[("ross", "hinet")]).data.tags["model_uri"]
    target = picked["pnw"].arrays("test")
    predicted = tracking.load_keras_model(saved).predict(model_windows(target.waveforms)[..., None],
                                                         verbose=0).argmax(axis=1)
    assert first.matrices["ross"]["macro_f1"].loc["hinet", "pnw"] == pytest.approx(
        f1_score(target.labels, predicted, average="macro"), abs=1e-9)
    n_training_runs = sum(len(tracking.search_runs(f"attpd/{d}")) for d in names)
    assert n_training_runs == 4

    second = run_transfer(["pd", "ross"], picked, base, n_boot=100)
    assert all(second.reused.values()) and second.training_runs == first.training_runs
    assert sum(len(tracking.search_runs(f"attpd/{d}")) for d in names) == 4  # nothing trained again
    for model in ("pd", "ross"):
        np.testing.assert_allclose(second.matrices[model]["macro_f1"].to_numpy(),
                                   first.matrices[model]["macro_f1"].to_numpy())

    client = MlflowClient()
    runs = tracking.search_runs("attpd/transfer")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 2 and len(children) == 8
    assert all(r.info.status == "FINISHED" for r in runs)
    for parent in parents:
        mine = [c for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert sorted(c.info.run_name for c in mine) == sorted(f"{m}@{s}" for m in ("pd", "ross") for s in names)
        artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "matrices")}
        assert {"matrices/pd_macro_f1.csv", "matrices/ross_accuracy.csv", "matrices/pd_minus_ross.csv",
                "matrices/transfer.md"} <= artifacts
        assert "pd_macro_f1_gap" in parent.data.metrics
        assert "None" not in parent.data.params.values()  # unset options are left out, not logged as "None"
        csv = client.download_artifacts(parent.info.run_id, "matrices/pd_macro_f1.csv", str(workdir))
        assert open(csv).readline().startswith("trained on \\ tested on,")
        csv = client.download_artifacts(parent.info.run_id, "matrices/summary.csv", str(workdir))
        assert open(csv).readline().startswith("model,")


def test_transfer_cli_accepts_its_own_default_models(stores, workdir, monkeypatch):
    """Issue 38: `attpd transfer --store a=... --store b=...` with the default --models (pd,ross,first-motion)
    used to stop with "unknown model 'first-motion'" before anything ran; the defaults reach run_transfer."""
    import attpd_bench.transfer as transfer_module

    seen = {}

    def reached(models, stores, base, **kwargs):
        seen["models"] = models
        raise KeyboardInterrupt  # stop here: the point is that the checks let the defaults through

    monkeypatch.setattr(transfer_module, "run_transfer", reached)
    result = CliRunner().invoke(app, ["transfer", "--store", f"pnw={stores[('pnw', 'native')].path}",
                                      "--store", f"scsn={stores[('scsn', 'native')].path}", "--epochs", "1",
                                      "--tracking-uri", f"sqlite:///{workdir / 'mlflow.db'}"])
    assert "unknown model" not in result.output, result.output
    assert seen["models"] == ["pd", "ross", "first-motion"]
