"""Store -> tf.data: windows, normalisation, flip augmentation, time shift, pick target, seeded order."""

from __future__ import annotations

import numpy as np
import pytest

from attpd_bench.data.preprocess import model_windows
from attpd_bench.errors import DataError
from attpd_bench.pipeline import PipelineConfig, evaluation_dataset, flip_augment, pick_target, training_dataset


def test_flip_doubles_with_swapped_labels():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([0, 1, 2, 0], dtype=np.int8)
    xa, ya = flip_augment(x, y)
    assert xa.shape == (8, 3)
    np.testing.assert_array_equal(xa[4:], -x)
    np.testing.assert_array_equal(ya, [0, 1, 2, 0, 1, 0, 2, 1])


def test_model_windows_cut_and_normalise():
    stored = np.zeros((2, 600), dtype=np.float32)
    stored[0, 300] = -4.0
    stored[0, 100] = 2.0  # first sample of the window [P-200, P+200)
    stored[0, 99] = 100.0  # outside: must not affect normalisation
    w = model_windows(stored)
    assert w.shape == (2, 400)
    assert w[0, 200] == -1.0 and w[0, 0] == 0.5
    assert (w[1] == 0).all()  # an all-zero window stays zero, no NaN
    shifted = model_windows(stored, shift=np.array([-100, 0]))
    # shift -100: the window is stored samples [0, 400), P at index 300, the spike at 99 is now inside
    assert shifted[0, 99] == 1.0 and shifted[0, 300] == pytest.approx(-0.04)
    with pytest.raises(ValueError):
        model_windows(stored, shift=101)


def test_training_batches(stores):
    store = stores[("pnw", "native")]
    ds, n = training_dataset(store, "train", PipelineConfig(batch_size=16, seed=1), (400, 1))
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    x, y = np.concatenate(xs), np.concatenate(ys)
    n_train = len(store.rows("train"))
    assert n == len(x) == 2 * n_train and x.shape[1:] == (400, 1)
    np.testing.assert_allclose(np.abs(x).max(axis=(1, 2)), 1.0, rtol=1e-6)
    counts = y.sum(axis=0)
    labels = store.labels("train")
    assert counts[0] == counts[1] == (labels == 0).sum() + (labels == 1).sum()
    assert counts[2] == 2 * (labels == 2).sum()
    # seeded: the same order twice, a different order for another seed
    again = np.concatenate([x.numpy() for x, _ in training_dataset(store, "train", PipelineConfig(16, seed=1),
                                                                    (400, 1))[0]])
    other = np.concatenate([x.numpy() for x, _ in training_dataset(store, "train", PipelineConfig(16, seed=2),
                                                                    (400, 1))[0]])
    np.testing.assert_array_equal(x, again)
    assert not np.array_equal(x, other)


def test_time_shift_and_pick_target(stores):
    store = stores[("pnw", "native")]
    config = PipelineConfig(batch_size=8, flip=False, time_shift=50, seed=0)
    ds, _ = training_dataset(store, "train", config, (400, 1), with_pick=True)
    x, (pk, po) = next(iter(ds))
    peaks = pk.numpy()[..., 0].argmax(axis=1)
    assert x.shape == (8, 400, 1) and pk.shape == (8, 400, 1) and po.shape == (8, 3)
    assert ((peaks >= 150) & (peaks <= 250)).all() and len(set(peaks)) > 1
    assert pick_target(0, 1)[0, :, 0].argmax() == 200
    with pytest.raises(DataError, match="--time-shift must be between 0 and 100"):
        PipelineConfig(time_shift=150)


def test_streaming_path_gives_the_same_examples(stores):
    store = stores[("hinet", "native")]
    mem = training_dataset(store, "train", PipelineConfig(batch_size=32, seed=0), (400, 1))[0]
    stream = training_dataset(store, "train", PipelineConfig(batch_size=32, seed=0, max_in_memory_gb=0.0,
                                                             stream_chunk_traces=37), (400, 1))[0]
    a = np.concatenate([x.numpy() for x, _ in mem])
    sizes = [len(x) for x, _ in stream]
    b = np.concatenate([x.numpy() for x, _ in stream])
    assert a.shape == b.shape
    assert set(sizes[:-1]) == {32}  # whole batches across chunk boundaries, the remainder last
    np.testing.assert_allclose(np.sort(a.sum(axis=(1, 2))), np.sort(b.sum(axis=(1, 2))), rtol=1e-4, atol=1e-4)


def test_evaluation_dataset_keeps_store_order(stores):
    store = stores[("pnw", "native")]
    x = np.concatenate([b[0].numpy() for b in evaluation_dataset(store, "test", (400, 1), 7)])
    np.testing.assert_allclose(x[..., 0], model_windows(store.arrays("test").waveforms))


@pytest.mark.parametrize("time_shift, max_in_memory_gb", [(0, 4.0), (0, 0.0), (40, 4.0), (40, 0.0)],
                         ids=["fixed-in-memory", "fixed-streaming", "shifted-in-memory", "shifted-streaming"])
def test_every_example_keeps_its_own_label(stores, tmp_path, time_shift, max_in_memory_gb):
    """Each trace's label is written into its waveform (the distance between two spikes) and decoded after
    shuffle, flip and shift: the pipeline's label must be the trace's own (up/down swapped when flipped)."""
    import shutil

    import h5py

    from attpd_bench.data.store import PolarityStore

    coded = tmp_path / "coded"
    shutil.copytree(stores[("hinet", "native")].path, coded)
    labels = PolarityStore(coded).metadata["label"].to_numpy()
    assert len(set(labels)) == 3
    with h5py.File(coded / "waveforms.hdf5", "a") as h5:
        data = h5["data/bucket0"]
        waves = np.zeros(data.shape, dtype=np.float32)
        waves[:, 0, 250] = 1.0  # marker spike: its sign tells a flipped copy
        waves[np.arange(len(labels)), 0, 260 + 10 * labels] = 0.5  # the label, 10-30 samples after it
        data[...] = waves
    config = PipelineConfig(batch_size=16, flip=True, time_shift=time_shift, seed=3,
                            max_in_memory_gb=max_in_memory_gb, stream_chunk_traces=37)  # many chunks
    ds, n = training_dataset(PolarityStore(coded), "train", config, (400, 1))
    seen = 0
    for x, y in ds:
        x, y = x.numpy()[..., 0], y.numpy().argmax(axis=1)
        rows = np.arange(len(x))
        marker = np.abs(x).argmax(axis=1)
        flipped = x[rows, marker] < 0
        rest = np.abs(x).copy()
        rest[rows, marker] = 0
        code = (rest.argmax(axis=1) - marker) // 10 - 1
        np.testing.assert_array_equal(y, np.where(flipped, np.array([1, 0, 2])[code], code))  # up <-> down
        seen += len(x)
    assert seen == n


def test_in_memory_estimate_counts_the_augmented_windows():
    """The in-memory path's footprint is ~7x the stored split (flip doubling, window cut, tensor copies): an
    INSTANCE-size training split (~900,000 traces) must stream under the 4 GB default, not peak near 20 GB."""
    from attpd_bench.pipeline import in_memory_bytes

    fixed, shifted = PipelineConfig(), PipelineConfig(time_shift=50)
    assert in_memory_bytes(3549, fixed) / 3549 > 17_500 and in_memory_bytes(3549, shifted) / 3549 > 17_800
    assert in_memory_bytes(900_000, fixed) / 2**30 > fixed.max_in_memory_gb
    assert in_memory_bytes(100_000, PipelineConfig(flip=False)) < in_memory_bytes(100_000, fixed) / 2
