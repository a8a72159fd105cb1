"""Bad input: clear one-line errors for whole files/columns; single bad traces skipped and counted."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from attpd_bench.cli import app
from attpd_bench.data.prepare import prepare_store
from attpd_bench.errors import DataError


def _copy(raw_regions, key, tmp_path):
    dst = tmp_path / "raw"
    shutil.copytree(raw_regions[key], dst)
    return dst


def test_missing_column(raw_regions, tmp_path):
    folder = _copy(raw_regions, ("ins", "native"), tmp_path)
    csv = folder / "metadata_Instance_events.csv"
    pd.read_csv(csv).drop(columns="trace_polarity").to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"metadata_Instance_events.csv: missing column\(s\) 'trace_polarity'"):
        prepare_store("ins", folder, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_cli_reports_error_without_traceback(raw_regions, tmp_path):
    folder = _copy(raw_regions, ("pnw", "native"), tmp_path)
    csv = folder / "comcat_metadata.csv"
    pd.read_csv(csv).drop(columns="event_id").to_csv(csv, index=False)
    result = CliRunner().invoke(app, ["data", "prepare", "--dataset", "pnw", "--source", str(folder),
                                      "--out", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert "missing column(s) 'event_id'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s").exists()


def test_bad_traces_are_skipped_and_counted(raw_regions, tmp_path):
    folder = _copy(raw_regions, ("hinet", "native"), tmp_path)
    csv = folder / "HINET_Polarity_15_19.csv"
    meta = pd.read_csv(csv, dtype=str, keep_default_na=False)
    names = meta["trace_name"].tolist()
    with h5py.File(folder / "HINET_Polarity_15_19.hdf5", "a") as h5:
        data = h5[f"data/{names[0]}"][:]
        data[100, 2] = np.nan
        h5[f"data/{names[0]}"][...] = data
        data = h5[f"data/{names[1]}"][:]
        data[5, 2] = np.inf
        h5[f"data/{names[1]}"][...] = data
        del h5[f"data/{names[2]}"]
        h5.create_dataset(f"data/{names[2]}", data=np.zeros((500,)))  # wrong shape
        del h5[f"data/{names[3]}"]  # missing waveform
    meta.loc[4, "p_arrival_sample"] = "10"  # P too early for a 600-sample cut
    meta.loc[5, "p_status"] = ""  # blank status
    meta.to_csv(csv, index=False)
    store, report = prepare_store("hinet", folder, tmp_path / "s")
    assert report.read == len(meta) and report.written == len(meta) - 6 == len(store)
    assert report.skipped == {"NaN or inf samples in the waveform": 2, "waveform shape": 1,
                              "waveform missing from the HDF5 file": 1, "P pick 10 outside the usable trace": 1,
                              "blank p_status": 1}
    assert not store.metadata["source_trace_name"].isin(names[:6]).any()
    assert np.isfinite(store.arrays().waveforms).all()
    skipped = pd.read_csv(store.path / "skipped.csv")
    assert skipped["source_trace_name"].tolist() == names[:6]


def test_unknown_polarity_word_named(raw_regions, tmp_path):
    folder = _copy(raw_regions, ("ins", "seisbench"), tmp_path)
    csv = folder / "metadata.csv"
    meta = pd.read_csv(csv)
    meta.loc[0, "trace_polarity"] = "upward"
    meta.to_csv(csv, index=False)
    store, report = prepare_store("ins", folder, tmp_path / "s")
    assert report.skipped == {"unknown trace_polarity": 1}
    assert "unknown trace_polarity 'upward'" in (store.path / "skipped.csv").read_text()


def test_scsn_wrong_array_shape(raw_regions, tmp_path):
    folder = _copy(raw_regions, ("scsn", "native"), tmp_path)
    path = folder / "scsn_p_2000_2017_6sec_0.5r_fm_train.hdf5"
    with h5py.File(path, "a") as h5:
        x = h5["X"][:, :500]
        del h5["X"]
        h5["X"] = x
    with pytest.raises(DataError, match=r"fm_train.hdf5: X has shape \(\d+, 500\), expected \(N, 600\)"):
        prepare_store("scsn", folder, tmp_path / "s")


def test_scsn_bad_label_and_nan(raw_regions, tmp_path):
    folder = _copy(raw_regions, ("scsn", "native"), tmp_path)
    with h5py.File(folder / "scsn_p_2000_2017_6sec_0.5r_fm_test.hdf5", "a") as h5:
        h5["Y"][0] = 7
        h5["X"][1, 10] = np.nan
    _, report = prepare_store("scsn", folder, tmp_path / "s")
    assert report.skipped == {"Y = 7, expected 0, 1 or 2": 1, "NaN or inf samples in the waveform": 1}


@pytest.mark.parametrize("damage", ["truncate", "not-hdf5"])
def test_truncated_or_foreign_hdf5(raw_regions, tmp_path, damage):
    folder = _copy(raw_regions, ("pnw", "native"), tmp_path)
    path = folder / "comcat_waveforms.hdf5"
    if damage == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    else:
        path.write_text("trace_name,data\n")
    with pytest.raises(DataError, match=r"comcat_waveforms.hdf5: (not a readable HDF5 file|cannot read)"):
        prepare_store("pnw", folder, tmp_path / "s")
    assert not (tmp_path / "s").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]


def test_unknown_dataset_and_split_mode(raw_regions, tmp_path):
    with pytest.raises(DataError, match="unknown data set 'stead'"):
        prepare_store("stead", raw_regions[("pnw", "native")], tmp_path / "s")
    with pytest.raises(DataError, match="unknown split mode 'random'"):
        prepare_store("pnw", raw_regions[("pnw", "native")], tmp_path / "s", split_mode="random")


def test_declared_component_order_wins(raw_regions, tmp_path):
    """A SeisBench file that declares ENZ instead of ZNE must be read at index 2."""
    folder = _copy(raw_regions, ("ins", "seisbench"), tmp_path)
    with h5py.File(folder / "waveforms.hdf5", "a") as h5:
        for name in list(h5["data"]):
            h5[f"data/{name}"][...] = h5[f"data/{name}"][()][:, ::-1, :]  # ZNE -> ENZ
        del h5["data_format/component_order"]
        h5["data_format/component_order"] = "ENZ"
    a, _ = prepare_store("ins", folder, tmp_path / "a")
    b, _ = prepare_store("ins", raw_regions[("ins", "seisbench")], tmp_path / "b")
    np.testing.assert_array_equal(a.arrays().waveforms, b.arrays().waveforms)


def test_overwrite_replaces_only_a_store(raw_regions, tmp_path):
    """--overwrite must never delete what the suite did not make (a typo such as --out raw/pnw)."""
    folder = _copy(raw_regions, ("pnw", "native"), tmp_path)
    thesis = tmp_path / "mine"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("years of work")
    for target in (thesis, folder):
        before = sorted(p.name for p in target.iterdir())
        result = CliRunner().invoke(app, ["data", "prepare", "--dataset", "pnw", "--source", str(folder),
                                          "--out", str(target), "--overwrite"])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"{target}: not a store" in result.output and "manifest.json" in result.output
        assert sorted(p.name for p in target.iterdir()) == before
    assert (thesis / "thesis.txt").read_text() == "years of work"
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    # a store is replaced
    store = tmp_path / "store"
    prepare_store("pnw", folder, store)
    again, _ = prepare_store("pnw", folder, store, overwrite=True, seed=1)
    assert again.manifest["seed"] == 1


@pytest.mark.parametrize("size", ["0", "-5"])
def test_chunk_size_must_be_positive(raw_regions, tmp_path, size):
    result = CliRunner().invoke(app, ["data", "prepare", "--dataset", "pnw", "--source",
                                      str(raw_regions[("pnw", "native")]), "--out", str(tmp_path / "s"),
                                      "--chunk-size", size])
    assert result.exit_code == 1 and f"--chunk-size must be at least 1, got {size}" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "s").exists()
