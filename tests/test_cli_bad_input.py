"""Bad input at the command line, table-driven: every kind ends in one `error:` line naming the culprit, exit
code 1, no traceback, and nothing written: no new file or folder, no new MLflow run (so none left RUNNING), no
alias moved."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attpd_bench import tracking
from attpd_bench.cli import app
from attpd_bench.models import CUSTOM_OBJECTS, build_model

runner = CliRunner()
NAME = "attpd-pd-pnw"


@pytest.fixture(scope="module")
def bench(stores, raw_regions, tmp_path_factory):
    """A working folder as a user has it: a raw data set, a store, a registered champion, model files, a study
    file, and corrupted copies of the raw files."""
    root = tmp_path_factory.mktemp("bad-input")
    shutil.copytree(raw_regions[("pnw", "native")], root / "raw")
    shutil.copytree(stores[("pnw", "native")].path, root / "store")
    (root / "thesis").mkdir()
    (root / "thesis" / "thesis.txt").write_text("four years of work")
    (root / "notes.csv").write_text("my,own\n1,2\n")
    (root / "bad_control.txt").write_text("$input_format\nhash2\n$fpfile\nnowhere.phase\n")
    shutil.copytree(stores[("scsn", "native")].path, root / "scsn-store")  # another data set than the champion's
    shutil.copytree(root / "store", root / "nostations")  # a store whose traces name no station
    meta = pd.read_csv(root / "nostations" / "metadata.csv")
    meta["station_code"] = ""
    meta.to_csv(root / "nostations" / "metadata.csv", index=False)
    (root / "old-mechanisms" / "skhash").mkdir(parents=True)  # an earlier answer of `attpd mechanisms`
    (root / "old-mechanisms" / "skhash" / "control.txt").write_text("# written by attpd-bench for SKHASH\n")
    (root / "old-audit").mkdir()  # an earlier audit
    (root / "old-audit" / ".attpd-audit").write_text("attpd audit\n")
    (root / "old-audit" / "reversals.csv").write_text("sta_code\n")

    bad = root / "bad"
    for kind in ("nocolumn", "notahdf5", "truncated", "nanP", "blanklabels"):
        shutil.copytree(root / "raw", bad / kind)
        (bad / kind / "synth.json").unlink()  # as a downloaded data set: published files only
    meta = pd.read_csv(bad / "nocolumn" / "comcat_metadata.csv")
    meta.drop(columns="trace_P_polarity").to_csv(bad / "nocolumn" / "comcat_metadata.csv", index=False)
    (bad / "notahdf5" / "comcat_waveforms.hdf5").write_text("this is not HDF5")
    data = (bad / "truncated" / "comcat_waveforms.hdf5").read_bytes()
    (bad / "truncated" / "comcat_waveforms.hdf5").write_bytes(data[: len(data) // 3])
    meta = pd.read_csv(bad / "nanP" / "comcat_metadata.csv")
    meta["trace_P_arrival_sample"] = np.nan
    meta.to_csv(bad / "nanP" / "comcat_metadata.csv", index=False)
    meta = pd.read_csv(bad / "blanklabels" / "comcat_metadata.csv")
    meta["trace_P_polarity"] = ""
    meta.to_csv(bad / "blanklabels" / "comcat_metadata.csv", index=False)

    shutil.copytree(raw_regions[("scsn", "native")], bad / "scsn")
    (bad / "scsn" / "synth.json").unlink()  # real SCSN files: no coordinates, no origins, no velocity model

    build_model("ross").save(root / "ross.keras")
    build_model("ross").save_weights(root / "ross.weights.h5")  # weights of another architecture
    (root / "fake.h5").write_text("not HDF5 either")
    study = (Path(__file__).resolve().parent.parent / "studies" / "pnw.toml").read_text()
    (root / "bad_study.toml").write_text(study.replace("[pruner]", "[pruner]\npatience_x = 3"))

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        tracking.configure(None)
        with tracking.run("attpd/pnw", "champion", {"kind": "training", "model": "pd", "dataset": "pnw",
                                                     "store_fingerprint": stores[("pnw", "native")].fingerprint}) as log:
            example = np.zeros((2, 400, 1), dtype=np.float32)
            tracking.log_keras_model(build_model("pd"), example, CUSTOM_OBJECTS)
            run_id = log.run_id
        client = MlflowClient()
        client.create_registered_model(NAME)
        version = client.create_model_version(NAME, f"runs:/{run_id}/model", run_id=run_id)
        client.set_registered_model_alias(NAME, "champion", version.version)
    return root


def _state(root: Path) -> tuple:
    client = MlflowClient()
    runs = sorted((r.info.run_id, r.info.status) for e in client.search_experiments()
                  for r in client.search_runs([e.experiment_id]))
    aliases = {m.name: dict(m.aliases) for m in client.search_registered_models()}
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if not p.name.startswith("mlflow.db"))
    return runs, aliases, files


S, R = "store", "raw"  # the fixture's store and raw data set
CASES = [
    # (kind, argv, what the message must name)
    ("missing column", ["data", "prepare", "--dataset", "pnw", "--source", "bad/nocolumn", "--out", "new"],
     ["comcat_metadata.csv", "trace_P_polarity"]),
    ("not an HDF5 file", ["data", "prepare", "--dataset", "pnw", "--source", "bad/notahdf5", "--out", "new"],
     ["comcat_waveforms.hdf5", "HDF5"]),
    ("truncated HDF5", ["data", "prepare", "--dataset", "pnw", "--source", "bad/truncated", "--out", "new"],
     ["comcat_waveforms.hdf5"]),
    ("P arrival all NaN", ["data", "prepare", "--dataset", "pnw", "--source", "bad/nanP", "--out", "new"],
     ["bad/nanP", "no valid trace", "P"]),
    ("blank labels", ["data", "prepare", "--dataset", "pnw", "--source", "bad/blanklabels", "--out", "new"],
     ["bad/blanklabels", "no valid trace", "polarity"]),
    ("missing source", ["data", "prepare", "--dataset", "pnw", "--source", "nowhere", "--out", "new"],
     ["nowhere"]),
    ("unknown data set", ["data", "prepare", "--dataset", "mars", "--source", R, "--out", "new"], ["mars"]),
    ("zero chunk size", ["data", "prepare", "--dataset", "pnw", "--source", R, "--out", "new", "--chunk-size",
                         "0"], ["--chunk-size"]),
    ("overwrite a non-store", ["data", "prepare", "--dataset", "pnw", "--source", R, "--out", "thesis",
                               "--overwrite"], ["thesis", "not a store"]),
    ("synth over a user's folder", ["data", "synth", "--region", "pnw", "--out", "thesis"],
     ["thesis", "not a synthetic region"]),
    ("synth over a published data set", ["data", "synth", "--region", "pnw", "--out", "bad/nocolumn"],
     ["bad/nocolumn", "refusing"]),
    ("reversal rate above 1", ["data", "synth", "--region", "pnw", "--out", "new", "--reversed-station-rate", "2"],
     ["--reversed-station-rate", "between 0 and 1"]),
    ("info of a non-store", ["data", "info", "thesis"], ["thesis", "not a canonical store"]),
    ("unknown model", ["train", "--store", S, "--model", "resnet"], ["resnet"]),
    ("zero epochs", ["train", "--store", S, "--epochs", "0"], ["--epochs"]),
    ("negative batch size", ["train", "--store", S, "--batch-size", "-4"], ["--batch-size"]),
    ("NaN learning rate", ["train", "--store", S, "--learning-rate", "nan"], ["--learning-rate"]),
    ("infinite learning rate", ["train", "--store", S, "--learning-rate", "inf"], ["--learning-rate"]),
    ("unknown monitor", ["train", "--store", S, "--monitor", "val_f2"], ["val_f2"]),
    ("time shift out of range", ["train", "--store", S, "--time-shift", "500"], ["--time-shift"]),
    ("train on a raw folder", ["train", "--store", R], [R, "not a canonical store"]),
    ("unknown split", ["evaluate", "--model-uri", "ross.keras", "--store", S, "--split", "validation"],
     ["validation"]),
    ("bad model URI", ["evaluate", "--model-uri", "runs:/0123456789abcdef/model", "--store", S],
     ["runs:/0123456789abcdef/model"]),
    ("missing alias", ["predict", "--model-uri", f"models:/{NAME}@nosuch", "--input", S, "--output", "p.csv"],
     [f"models:/{NAME}@nosuch"]),
    ("model of another shape", ["evaluate", "--model-uri", "notes.csv", "--store", S], ["notes.csv"]),
    ("output of the wrong kind", ["predict", "--model-uri", "ross.keras", "--input", S, "--output", "p.txt"],
     ["p.txt", ".csv or .parquet"]),
    ("output over a user's file", ["predict", "--model-uri", "ross.keras", "--input", S, "--output",
                                   "notes.csv"], ["notes.csv", "exists"]),
    ("overwrite of a user's file", ["predict", "--model-uri", "ross.keras", "--input", S, "--output",
                                    "notes.csv", "--overwrite"], ["notes.csv", "not a file this suite wrote"]),
    ("predict a raw folder without its layout", ["predict", "--model-uri", "ross.keras", "--input", R,
                                                 "--output", "p.csv"], [R, "--dataset"]),
    ("negative min probability", ["predict", "--model-uri", "ross.keras", "--input", S, "--output", "p.csv",
                                  "--min-probability", "-0.5"], ["--min-probability"]),
    ("SKHASH set without coordinates", ["predict", "--model-uri", "ross.keras", "--input", "bad/scsn",
                                        "--dataset", "scsn", "--output", "p.csv", "--skhash-out", "skh"],
     ["--stations", "--catalog", "--velocity-model"]),
    ("SKHASH set into a user's folder", ["predict", "--model-uri", "ross.keras", "--input", S, "--output",
                                         "p.csv", "--skhash-out", "thesis"], ["thesis", "not a SKHASH folder"]),
    ("station file without coordinates", ["predict", "--model-uri", "ross.keras", "--input", "bad/scsn",
                                          "--dataset", "scsn", "--output", "p.csv", "--skhash-out", "skh",
                                          "--stations", "notes.csv"], ["notes.csv", "--stations", "network"]),
    ("mechanisms of a raw folder", ["mechanisms", "--store", R, "--polarities", "analyst", "--out", "m"],
     [R, "not a canonical store"]),
    ("mechanisms into a user's folder", ["mechanisms", "--store", S, "--polarities", "true", "--out",
                                         "thesis"], ["thesis", "refusing"]),
    ("mechanisms of an unknown split", ["mechanisms", "--store", S, "--polarities", "true", "--out", "m",
                                        "--split", "validation"], ["--split", "validation"]),
    ("a truth table that is not one", ["mechanisms", "--store", S, "--polarities", "true", "--out", "m",
                                       "--truth", "notes.csv"], ["notes.csv", "truth table"]),
    ("missing truth table", ["mechanisms", "--store", S, "--polarities", "true", "--out", "m", "--truth",
                             "nowhere.csv"], ["nowhere.csv", "--truth"]),
    ("mechanisms from a missing model", ["mechanisms", "--store", S, "--polarities",
                                         f"models:/{NAME}@nosuch", "--out", "m"], [f"models:/{NAME}@nosuch"]),
    ("a typo of a polarity source", ["mechanisms", "--store", S, "--polarities", "truth", "--out", "m"],
     ["truth", "did you mean 'true'"]),
    ("mechanisms with a reversal file that is not one", ["mechanisms", "--store", S, "--polarities", "true",
                                                         "--out", "m", "--reversals", "notes.csv"],
     ["notes.csv", "--reversals", "start_time"]),
    ("a reference that is not one", ["mechanisms", "--store", S, "--polarities", "true", "--out", "m",
                                     "--reference", "notes.csv"], ["notes.csv", "--reference", "event_id"]),
    ("mechanisms of no input", ["mechanisms", "--out", "m"], ["--store", "--skhash-control"]),
    ("labels audit of the split the model trained on", ["audit", "labels", "--store", S, "--model-uri",
                                                        f"models:/{NAME}@champion", "--split", "train", "--out", "a"],
     ["not out-of-sample", "--split dev or test"]),
    ("labels audit with a model of another data set", ["audit", "labels", "--store", "scsn-store", "--model-uri",
                                                       f"models:/{NAME}@champion", "--out", "a"],
     ["trained on the pnw data set", "holds scsn", "first-motion"]),
    ("labels audit with an unknown relabel target", ["audit", "labels", "--store", S, "--model-uri", "first-motion",
                                                     "--out", "a", "--relabel-to", "flip"], ["--relabel-to", "flip"]),
    ("labels audit relabelling over a user's folder", ["audit", "labels", "--store", S, "--model-uri",
                                                       "first-motion", "--out", "a", "--relabel", "thesis"],
     ["thesis", "--relabel"]),
    ("mechanisms over its earlier answer", ["mechanisms", "--store", S, "--polarities", "true", "--out",
                                            "old-mechanisms"], ["old-mechanisms", "--overwrite"]),
    ("an audit over an earlier one", ["audit", "reversals", "--store", S, "--polarities", "analyst", "--out",
                                      "old-audit"], ["old-audit", "--overwrite"]),
    ("audit of a store without station codes", ["audit", "reversals", "--store", "nostations", "--polarities",
                                                "true", "--out", "a"], ["nostations", "station_code"]),
    ("audit with too few events per station", ["audit", "reversals", "--store", S, "--polarities", "true", "--out",
                                               "a", "--min-events", "500"], ["--min-events", "the most"]),
    ("audit without an input", ["audit", "reversals", "--out", "a"], ["--store", "--skhash-control"]),
    ("audit into a user's folder", ["audit", "reversals", "--store", S, "--polarities", "analyst", "--out",
                                    "thesis"], ["thesis", "--out"]),
    ("audit of a missing control file", ["audit", "reversals", "--skhash-control", "nowhere.txt", "--out", "a"],
     ["nowhere.txt"]),
    ("audit of a file that is no control file", ["audit", "reversals", "--skhash-control", "notes.csv", "--out",
                                                 "a"], ["notes.csv", "not a SKHASH control file"]),
    ("a control file naming a missing input", ["audit", "reversals", "--skhash-control", "bad_control.txt",
                                               "--out", "a"], ["bad_control.txt", "$fpfile", "nowhere.phase"]),
    ("recordings without picks", ["predict", "--model-uri", "first-motion", "--waveforms", R, "--output",
                                  "p.csv"], ["--picks"]),
    ("a missing picks file", ["predict", "--model-uri", "first-motion", "--waveforms", R, "--picks",
                              "nowhere.xml", "--output", "p.csv"], ["nowhere.xml", "--picks"]),
    ("waveforms matching no file", ["predict", "--model-uri", "first-motion", "--waveforms", "raw/*.sac",
                                    "--picks", "notes.csv", "--output", "p.csv"], ["raw/*.sac", "no file"]),
    ("a store and recordings at once", ["predict", "--model-uri", "first-motion", "--input", S, "--waveforms",
                                        R, "--picks", "notes.csv", "--output", "p.csv"], ["--input", "not both"]),
    ("picks without their time", ["predict", "--model-uri", "first-motion", "--waveforms", R, "--picks",
                                  "notes.csv", "--output", "p.csv"], ["notes.csv", "p_time"]),
    ("a data-set name that is not one", ["data", "prepare", "--dataset", "My Net", "--waveforms", R,
                                         "--picks", "notes.csv", "--out", "new"], ["My Net", "lower-case"]),
    ("picks beside a published layout", ["data", "prepare", "--dataset", "pnw", "--source", R, "--picks",
                                         "notes.csv", "--out", "new"], ["--picks", "--waveforms"]),
    ("a real-data folder that is not there", ["demo", "--workdir", "w", "--real-data", "nowhere"],
     ["nowhere", "--real-data"]),
    ("a channel beside a store", ["predict", "--model-uri", "first-motion", "--input", S, "--component", "N",
                                  "--output", "p.csv"], ["--component", "--waveforms"]),
    ("freeze without a parent model", ["train", "--store", S, "--freeze"], ["--freeze", "--init-from"]),
    ("promotion with too few replicates", ["promote", "--model", "pd", "--dataset", "pnw", "--n-boot", "0"],
     ["--n-boot"]),
    ("promotion of a missing run", ["promote", "--model", "pd", "--dataset", "pnw", "--run-id", "feedbeef"],
     ["feedbeef"]),
    ("NaN minimum gain", ["promote", "--model", "pd", "--dataset", "pnw", "--min-gain", "nan"], ["--min-gain"]),
    ("study file with a bad key", ["tune", "--study", "bad_study.toml", "--model", "pd", "--store", S],
     ["bad_study.toml", "patience_x"]),
    ("zero workers", ["tune", "--study", str(Path(__file__).resolve().parent.parent / "studies" / "pnw.toml"),
                      "--model", "pd", "--store", S, "--workers", "0"], ["--workers"]),
    ("a study of zero epochs", ["tune", "--study", str(Path(__file__).resolve().parent.parent / "studies" /
                                                       "pnw.toml"), "--model", "pd", "--store", S, "--epochs", "0"],
     ["--epochs"]),
    ("zero demo jobs", ["demo", "--jobs", "0", "--workdir", "new"], ["--jobs"]),
    ("transfer store without a name", ["transfer", "--store", S], [S, "NAME=PATH"]),
    ("import a non-HDF5 file", ["import-h5", "--file", "fake.h5", "--model", "pd", "--dataset", "pnw"],
     ["fake.h5"]),
    ("import weights of another architecture", ["import-h5", "--file", "ross.weights.h5", "--model", "pd",
                                                "--dataset", "pnw"], ["ross.weights.h5", "pd"]),
    ("import a published picker's weights into another architecture",
     ["import-model", "--model", "cfm", "--weights", "ross.weights.h5", "--dataset", "pnw"],
     ["ross.weights.h5", "cfm"]),
    ("a hyper-parameter without a value", ["train", "--store", S, "--model", "cfm", "--hp", "band"],
     ["--hp", "NAME=VALUE", "band"]),
    ("a band outside [0, 0.5)", ["train", "--store", S, "--model", "cfm", "--hp", "band=0.7"], ["band", "0.7"]),
    ("negative test-time shifts", ["predict", "--model-uri", "first-motion", "--input", S, "--output", "p.csv",
                                   "--shifts", "-2"], ["--shifts", "-2"]),
    ("test-time shifts the window cannot take", ["predict", "--model-uri", "first-motion", "--input", S,
                                                 "--output", "p.csv", "--shifts", "3", "--shift-samples", "150"],
     ["--shift-samples 150", "at most 100"]),
]


@pytest.mark.parametrize("argv, names", [pytest.param(argv, names, id=kind) for kind, argv, names in CASES])
def test_bad_input_is_one_clear_line_and_writes_nothing(bench, monkeypatch, argv, names):
    monkeypatch.chdir(bench)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.configure(None)
    before = _state(bench)
    result = runner.invoke(app, argv)
    output = result.output.strip()
    assert result.exit_code == 1, output[-2000:]
    assert "Traceback" not in output and output.startswith("error:"), output[-2000:]
    assert len(output.splitlines()) == 1 or "\n" not in output.split("error:", 1)[1].strip(), output
    for name in names:
        assert name in output, f"{name!r} not named in: {output}"
    assert _state(bench) == before  # no file, no run, no alias


def test_predict_overwrite_replaces_only_its_own_table(bench, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    argv = ["predict", "--model-uri", str(bench / "ross.keras"), "--input", str(bench / S), "--output",
            "p.csv", "--skhash-out", "skhash"]
    assert runner.invoke(app, argv).exit_code == 0
    first = Path("p.csv").read_text()
    again = runner.invoke(app, argv)
    assert again.exit_code == 1 and "p.csv: exists; pass --overwrite" in again.output
    assert runner.invoke(app, [*argv, "--overwrite"]).exit_code == 0
    assert Path("p.csv").read_text() == first


def test_help_texts_keep_their_brackets():
    """Issue 23, item 9: rich markup swallowed "[the study file's n_trials]" and printed "Trials to add ."."""
    result = runner.invoke(app, ["tune", "--help"])
    assert "Trials to add [the study file's n_trials]." in " ".join(result.output.split())
    assert " ." not in " ".join(line.strip() for line in result.output.splitlines() if "Trials to add" in line)


def test_options_are_checked_before_tensorflow_loads(tmp_path):
    """Issue 23, item 9: a mistake in a command that trains or predicts was reported only after TensorFlow's
    import (7-9 s). Every such command checks its files and numbers first: in a fresh interpreter, after each of
    these errors, TensorFlow is still not imported."""
    cases = [["train", "--store", "nowhere"], ["train", "--store", "nowhere", "--epochs", "0"],
             ["evaluate", "--model-uri", "x", "--store", "nowhere"],
             ["predict", "--model-uri", "first-motion", "--input", "nowhere", "--output", "p.csv"],
             ["tune", "--study", "nowhere.toml", "--store", "nowhere"],
             ["transfer", "--store", "a=nowhere", "--store", "b=nowhere"],
             ["import-h5", "--file", "nowhere.h5", "--model", "pd", "--dataset", "pnw"],
             ["import-model", "--weights", "nowhere.h5", "--model", "cfm", "--dataset", "pnw"],
             ["mechanisms", "--store", "nowhere", "--polarities", "true", "--out", "m"],
             ["audit", "labels", "--store", "nowhere", "--model-uri", "x", "--out", "l"]]
    script = ("import json, sys\n"
              "from typer.testing import CliRunner\n"
              "from attpd_bench.cli import app\n"
              "for argv in json.loads(sys.argv[1]):\n"
              "    result = CliRunner().invoke(app, argv)\n"
              "    print(result.exit_code, 'tensorflow' in sys.modules, 'keras' in sys.modules, ' '.join(argv))\n")
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script, json.dumps(cases)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    lines = done.stdout.splitlines()
    assert len(lines) == len(cases), done.stderr[-2000:]
    for line in lines:
        exit_code, tensorflow, keras, argv = line.split(" ", 3)
        assert (exit_code, tensorflow, keras) == ("1", "False", "False"), line


WRITERS = [  # (what it writes, argv, the files that must exist afterwards)
    ("synthetic region", ["data", "synth", "--region", "pnw", "--n-events", "4", "--out", "new/synth/raw"],
     ["new/synth/raw/truth.csv"]),
    ("store", ["data", "prepare", "--dataset", "pnw", "--source", R, "--out", "new/prepare/store"],
     ["new/prepare/store/metadata.csv"]),
    ("prediction table and SKHASH inputs", ["predict", "--model-uri", "first-motion", "--input", S, "--output",
                                            "new/predict/p.csv", "--skhash-out", "new/predict-skhash/sk"],
     ["new/predict/p.csv", "new/predict-skhash/sk/control.txt"]),
    ("mechanisms", ["mechanisms", "--store", S, "--polarities", "true", "--out", "new/mechanisms/m"],
     ["new/mechanisms/m/mechanisms.csv"]),
    ("reversal audit", ["audit", "reversals", "--store", S, "--polarities", "true", "--min-events", "2", "--out",
                        "new/audit/a"], ["new/audit/a/reversals.csv"]),
    ("label audit and relabelled store", ["audit", "labels", "--store", S, "--model-uri", "first-motion", "--out",
                                          "new/labels/l", "--relabel", "new/relabel/r"],
     ["new/labels/l/label_issues.csv", "new/relabel/r/metadata.csv"]),
    ("Optuna journal", ["tune", "--study", str(Path(__file__).resolve().parent.parent / "studies" / "pnw.toml"),
                        "--store", S, "--n-trials", "1", "--epochs", "1", "--storage", "new/tune/optuna.journal"],
     ["new/tune/optuna.journal"]),
]


@pytest.mark.slow  # runs SKHASH and one epoch of training
@pytest.mark.parametrize("argv, written", [pytest.param(argv, written, id=kind) for kind, argv, written in WRITERS])
def test_every_writing_command_creates_a_missing_parent_folder(bench, monkeypatch, tmp_path, argv, written):
    """Issue 23, item 1: `predict --output pred/x.csv` with no `pred/` was a traceback and a FAILED run. A new
    folder for what a command writes is the user's intent: every command that writes creates it."""
    monkeypatch.chdir(tmp_path)
    for name in (S, R):
        (tmp_path / name).symlink_to(bench / name)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.configure(None)
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output[-2000:]
    for path in written:
        assert (tmp_path / path).exists(), f"{path} missing after: {result.output[-500:]}"


def test_readme_counts_the_kinds_of_bad_input():
    """The README's count of the kinds of bad input is this table's."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"`tests/test_cli_bad_input.py` feeds it {len(CASES)} kinds" in readme


def test_an_error_message_is_printed_as_written():
    """Issue 38 (messages): rich turned ':a:' in `--picks sac:a:x` into an emoji ('sac🅰x') and would read
    '[...]' as markup: the one-line error shows the user's text exactly."""
    from attpd_bench.sim_to_real import KUMAMOTO

    result = runner.invoke(app, ["evaluate", "--model-uri", "first-motion", "--waveforms",
                                 str(KUMAMOTO / "waveforms"), "--picks", "sac:a:x"])
    assert result.exit_code == 1
    assert "--picks sac:a:x: unknown SAC marker 'a:x'" in result.output, result.output


@pytest.mark.parametrize("argv, message", [
    (["train", "--bogus", "1"], "No such option: --bogus"),
    (["train", "--store", "s", "--epochs", "many"], "Invalid value for '--epochs'"),
    (["nosuch"], "No such command 'nosuch'"),
])
def test_a_usage_error_is_one_line_and_exit_1(argv, message, monkeypatch, capsys):
    """Issue 38 (messages): an unknown option or a malformed value was click's boxed usage text with exit 2; the
    `attpd` command (its entry point, cli.main) says it in one line, names the --help to read, and exits 1 like
    every refused input."""
    import sys

    from attpd_bench.cli import main

    monkeypatch.setattr(sys, "argv", ["attpd", *argv])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "--help" in lines[0] and "Traceback" not in err
