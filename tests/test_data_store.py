"""The canonical store: event splits, determinism, fingerprint, atomic writes, the PolarityStore API."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from attpd_bench.data.prepare import prepare_store
from attpd_bench.data.store import PolarityStore, carve_dev, event_split, original_split
from attpd_bench.errors import DataError


def test_event_split_groups_events_and_is_deterministic():
    ids = np.repeat(np.arange(200).astype(str), 7)
    a, b, c = event_split(ids, 1), event_split(ids, 1), event_split(ids, 2)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    frame = pd.DataFrame({"event": ids, "split": a})
    assert frame.groupby("event")["split"].nunique().max() == 1
    share = frame["split"].value_counts(normalize=True)
    assert share["train"] == pytest.approx(0.8, abs=0.01) and share["test"] == pytest.approx(0.1, abs=0.01)
    # independent of read order
    perm = np.random.default_rng(0).permutation(len(ids))
    np.testing.assert_array_equal(event_split(ids[perm], 1), a[perm])


def test_small_event_counts_still_fill_every_split():
    assert set(event_split(["a", "b", "c"], 0)) == {"train", "dev", "test"}
    assert set(event_split(["a", "b"], 0, (0.9, 0.1, 0.0))) == {"train", "dev"}  # no test asked for, none made
    split = carve_dev(["a", "a", "b", "c"], ["train", "train", "train", "test"], 0)
    assert (split == "dev").sum() >= 1 and split[3] == "test"


def test_carve_dev_keeps_test_and_groups_events():
    ids = np.repeat(np.arange(100).astype(str), 3)
    base = np.where(np.arange(300) < 150, "train", "test")
    split = carve_dev(ids, base, 0)
    assert (split[150:] == "test").all()
    assert set(split[:150]) == {"train", "dev"}
    assert pd.DataFrame({"e": ids, "s": split}).groupby("e")["s"].nunique().max() == 1


def test_original_split_is_random_by_trace():
    split = original_split(1000, seed=7)
    assert (split == "test").sum() == 200 and (split == "dev").sum() == 80
    np.testing.assert_array_equal(split, original_split(1000, seed=7))


def test_no_event_in_two_splits(stores):
    for store in stores.values():
        assert store.metadata.groupby("source_id")["split"].nunique().max() == 1


def test_same_seed_same_store_different_seed_different_split(raw_regions, tmp_path):
    folder = raw_regions[("hinet", "native")]
    a, _ = prepare_store("hinet", folder, tmp_path / "a", seed=5)
    b, _ = prepare_store("hinet", folder, tmp_path / "b", seed=5, chunk_size=17)  # chunking must not matter
    c, _ = prepare_store("hinet", folder, tmp_path / "c", seed=6)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    pd.testing.assert_frame_equal(a.metadata, b.metadata)
    np.testing.assert_array_equal(a.arrays().waveforms, b.arrays().waveforms)
    assert (a.metadata["split"] != c.metadata["split"]).any()
    np.testing.assert_array_equal(a.arrays().waveforms, c.arrays().waveforms)  # only the split moved


def test_original_split_mode_leaks_events(raw_regions, tmp_path):
    store, _ = prepare_store("hinet", raw_regions[("hinet", "native")], tmp_path / "o", seed=7,
                             split_mode="original")
    assert store.manifest["split_mode"] == "original"
    assert store.metadata.groupby("source_id")["split"].nunique().max() > 1
    assert (store.metadata["split"] == "test").mean() == pytest.approx(0.2, abs=0.01)


def test_store_api(stores):
    store = stores[("pnw", "native")]
    train = store.arrays("train")
    assert len(train.waveforms) == len(train.labels) == (store.metadata["split"] == "train").sum()
    chunks = list(store.iter_chunks("train", chunk_size=10))
    np.testing.assert_array_equal(np.concatenate([c.waveforms for c in chunks]), train.waveforms)
    np.testing.assert_array_equal(np.concatenate([c.labels for c in chunks]), train.labels)
    rows = np.array([0, 1, 5, 9, 10])
    np.testing.assert_array_equal(store.read_rows(rows), store.arrays().waveforms[rows])
    assert json.loads((store.path / "manifest.json").read_text())["fingerprint"] == store.fingerprint
    summary = store.summary()
    assert sum(sum(c.values()) for c in summary["traces"].values()) == len(store)
    with pytest.raises(DataError, match="unknown split 'valid'"):
        store.rows("valid")


def test_store_is_seisbench_layout(stores):
    import h5py

    store = stores[("ins", "native")]
    with h5py.File(store.path / "waveforms.hdf5") as h5:
        assert h5["data/bucket0"].shape == (len(store), 1, 600)
        assert h5["data_format/component_order"][()] == b"Z"
        assert h5.attrs["fingerprint"] == store.fingerprint


def test_interrupted_prepare_leaves_nothing(raw_regions, tmp_path, monkeypatch):
    from attpd_bench.data import reader

    calls = {"n": 0}
    original = reader.RawReader._finish

    def crash(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(reader.RawReader, "_finish", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_store("pnw", raw_regions[("pnw", "native")], tmp_path / "store", chunk_size=20)
    assert list(tmp_path.iterdir()) == []


def test_existing_store_not_overwritten_without_flag(stores, raw_regions):
    store = stores[("hinet", "native")]
    with pytest.raises(DataError, match="already exists"):
        prepare_store("hinet", raw_regions[("hinet", "native")], store.path)


def test_open_errors(tmp_path):
    with pytest.raises(DataError, match="not a canonical store"):
        PolarityStore(tmp_path)
