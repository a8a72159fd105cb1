"""Canonical store -> tf.data: each model's own window (its :class:`models.InputConvention`; the original 400
samples with P at 200 by default), max-abs normalisation, augmentation, batching, prefetch.

Training augmentation is the original's: ``flip`` appends the sign-flipped copy of every trace with up and
down swapped (unknown stays unknown), doubling the set; ``time_shift`` moves the window by a random
[-max, max] samples around P per example and epoch (the original's ``tmsf`` drew the window start from
P-300..P-100, i.e. a shift of -100..99). ``pp`` also gets its pick target: a Gaussian (std 10 samples)
centred on P in the window.

A split whose in-memory footprint (:func:`in_memory_bytes`) fits ``max_in_memory_gb`` is read once; a larger
one streams from HDF5 in chunks, chunk order and order within chunks shuffled per epoch by the seed.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from attpd_bench.data.labels import DOWN, N_CLASSES, UNKNOWN, UP
from attpd_bench.data.preprocess import STORE_P_SAMPLE, STORE_SAMPLES
from attpd_bench.data.store import PolarityStore
from attpd_bench.errors import DataError
from attpd_bench.models import ORIGINAL_CONVENTION, InputConvention, as_model_input, polarity_probabilities
from attpd_bench.settings import PipelineConfig

PICK_SIGMA_SAMPLES = 10.0
SWAP_UP_DOWN = np.array([DOWN, UP, UNKNOWN], dtype=np.int8)


def flip_augment(waveforms: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Originals followed by their sign-flipped copies, up <-> down swapped, unknown kept."""
    labels = np.asarray(labels, dtype=np.int8)
    return (np.concatenate([waveforms, -waveforms]), np.concatenate([labels, SWAP_UP_DOWN[labels]]))


def pick_target(shift: np.ndarray | int, n: int, convention: InputConvention = ORIGINAL_CONVENTION) -> np.ndarray:
    """Gaussian pick mask (n, samples, 1) centred on P, which sits at sample p_index - shift of the window."""
    centre = convention.p_index - np.broadcast_to(np.asarray(shift), (n,))
    t = np.arange(convention.samples)[None, :]
    return np.exp(-0.5 * ((t - centre[:, None]) / PICK_SIGMA_SAMPLES) ** 2).astype(np.float32)[..., None]


def _targets(labels, shift, with_pick: bool, convention: InputConvention):
    """One-hot polarity, or (pick mask, polarity) in pp's output order."""
    onehot = tf.one_hot(tf.cast(labels, tf.int32), N_CLASSES)
    if not with_pick:
        return onehot
    centre = tf.cast(convention.p_index - shift, tf.float32)[:, None]
    t = tf.range(convention.samples, dtype=tf.float32)[None, :]
    return tf.exp(-0.5 * tf.square((t - centre) / PICK_SIGMA_SAMPLES))[..., None], onehot


def _window_batch(stored, shift, input_shape, convention: InputConvention):
    """tf version of :meth:`InputConvention.windows` for a batch with per-example shifts."""
    start = STORE_P_SAMPLE - convention.p_index + tf.cast(shift, tf.int32)
    idx = start[:, None] + tf.range(convention.samples)[None, :]
    w = tf.gather(stored, idx, batch_dims=1)
    peak = tf.reduce_max(tf.abs(w), axis=1, keepdims=True)
    w = w / tf.where(peak > 0, peak, tf.ones_like(peak))
    return tf.reshape(w, (-1, *input_shape))


def split_rows(store: PolarityStore, split: str, labels: tuple[int, ...] | None = None) -> np.ndarray:
    """Row numbers of ``split``, only those labelled one of ``labels`` when given (a two-class model trains on
    the up and down traces only)."""
    rows = store.rows(split)
    if labels is None:
        return rows
    return rows[np.isin(store.metadata["label"].to_numpy(np.int8)[rows], labels)]


def _arrays(store: PolarityStore, rows: np.ndarray):
    return store.read_rows(rows), store.metadata["label"].to_numpy(np.int8)[rows]


def training_dataset(store: PolarityStore, split: str, config: PipelineConfig, input_shape: tuple,
                     with_pick: bool = False, *, convention: InputConvention = ORIGINAL_CONVENTION,
                     labels: tuple[int, ...] | None = None) -> tuple[tf.data.Dataset, int]:
    """Shuffled, augmented batches for ``fit``; returns the dataset and its number of examples per epoch.
    ``labels``: train on the traces of these labels only."""
    rows = split_rows(store, split, labels)
    if len(rows) == 0:
        raise DataError(f"{store.path}: the {split!r} split is empty")
    n = len(rows) * (2 if config.flip else 1)
    in_memory = in_memory_bytes(len(rows), config, convention.samples) / 2**30 <= config.max_in_memory_gb
    if in_memory and config.time_shift == 0:
        # fixed windows: computed once, so an epoch costs no more than fitting arrays already in memory
        waveforms, classes = _arrays(store, rows)
        waveforms, classes = flip_augment(waveforms, classes) if config.flip else (waveforms, classes)
        x = tf.constant(as_model_input(convention.windows(waveforms), input_shape))
        y = tf.constant(np.eye(N_CLASSES, dtype=np.float32)[classes])
        pk = tf.constant(pick_target(0, 1, convention)[0])
        # shuffle row numbers, gather whole batches: per-element work on 1.6 kB windows would cost ~20 %
        ds = tf.data.Dataset.range(len(classes)).shuffle(len(classes), seed=config.seed,
                                                        reshuffle_each_iteration=True).batch(config.batch_size)
        ds = ds.map(lambda i: (tf.gather(x, i), (tf.tile(pk[None], (tf.size(i), 1, 1)), tf.gather(y, i))
                               if with_pick else tf.gather(y, i)), num_parallel_calls=tf.data.AUTOTUNE,
                    deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE), n
    if config.time_shift == 0:  # streaming fixed windows: cut per chunk, batched in Python
        ds = _streaming_fixed(store, rows, config, input_shape, convention)
        ds = ds.map(lambda x, y: (x, _targets(y, tf.zeros_like(y), with_pick, convention)),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE), n
    if in_memory:
        source = _in_memory(*_arrays(store, rows), config)
    else:
        source = _streaming(store, rows, config)
    shifts = tf.data.Dataset.random(seed=config.seed).map(
        lambda r: tf.cast(r % (2 * config.time_shift + 1), tf.int32) - config.time_shift)
    ds = tf.data.Dataset.zip((source, shifts)).batch(config.batch_size)
    ds = ds.map(lambda xy, s: (_window_batch(xy[0], s, input_shape, convention),
                               _targets(xy[1], s, with_pick, convention)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE), n


def in_memory_bytes(n_traces: int, config: PipelineConfig, window_samples: int = ORIGINAL_CONVENTION.samples) -> int:
    """Peak memory of the in-memory training path for ``n_traces`` stored traces (an upper bound).

    The stored split (600 float32) and, with flip, its doubled copy; then for fixed windows the window cut of
    every (augmented) example: an int64 index and three float32 arrays of 400 samples (window, normalised,
    cast) before the tf.constant copy; for shifted windows, the tensor copy and the shuffle buffer of the
    600-sample examples. Measured on 3,549 Hi-net traces with flip: 17.5 kB per stored trace for fixed windows
    (this estimate: 23.2 kB), 17.8 kB shifted (21.6 kB); the stored array alone, the former estimate, is
    2.4 kB."""
    examples = n_traces * (2 if config.flip else 1)
    stored = n_traces * STORE_SAMPLES * 4 + (examples * STORE_SAMPLES * 4 if config.flip else 0)
    if config.time_shift == 0:
        return stored + examples * window_samples * (8 + 3 * 4)
    return stored + 3 * examples * STORE_SAMPLES * 4


def _in_memory(waveforms, labels, config: PipelineConfig) -> tf.data.Dataset:
    if config.flip:
        waveforms, labels = flip_augment(waveforms, labels)
    ds = tf.data.Dataset.from_tensor_slices((waveforms, labels.astype(np.int32)))
    return ds.shuffle(len(labels), seed=config.seed, reshuffle_each_iteration=True)


def _shuffled_chunks(store: PolarityStore, rows: np.ndarray, config: PipelineConfig):
    """A generator function over the HDF5 chunks of ``rows``, (stored waveforms, labels) each: chunk order and the
    order within a chunk shuffled per epoch by the seed, the flipped copies inside their chunk."""
    labels = store.metadata["label"].to_numpy(np.int8)
    epoch = {"n": 0}

    def generate():
        rng = np.random.default_rng([config.seed, epoch["n"]])
        epoch["n"] += 1
        size = config.stream_chunk_traces
        for start in rng.permutation(np.arange(0, len(rows), size)):
            r = rows[start:start + size]
            x, y = store.read_rows(r), labels[r]
            if config.flip:
                x, y = flip_augment(x, y)
            order = rng.permutation(len(y))
            yield x[order], y[order].astype(np.int32)

    return generate


def _streaming(store: PolarityStore, rows: np.ndarray, config: PipelineConfig) -> tf.data.Dataset:
    """Stored examples one by one (shifted windows are cut per batch later): whole chunks out of Python,
    examples split off in C++ (a Python generator yielding one example at a time halved the throughput)."""
    return tf.data.Dataset.from_generator(_shuffled_chunks(store, rows, config), output_signature=(
        tf.TensorSpec((None, STORE_SAMPLES), tf.float32), tf.TensorSpec((None,), tf.int32))).unbatch()


def _streaming_fixed(store: PolarityStore, rows: np.ndarray, config: PipelineConfig, input_shape: tuple,
                     convention: InputConvention) -> tf.data.Dataset:
    """Fixed windows from HDF5 chunks: cut and normalised per chunk in NumPy, whole batches out of Python
    (examples carried over chunk boundaries: the same batches as cutting the stream example by example)."""
    chunks = _shuffled_chunks(store, rows, config)
    size = config.batch_size

    def generate():
        carry_x = np.empty((0, *input_shape), dtype=np.float32)
        carry_y = np.empty(0, dtype=np.int32)
        for stored, labels in chunks():
            x = np.concatenate([carry_x, as_model_input(convention.windows(stored), input_shape)])
            y = np.concatenate([carry_y, labels])
            full = len(y) // size * size
            for start in range(0, full, size):
                yield x[start:start + size], y[start:start + size]
            carry_x, carry_y = x[full:], y[full:]
        if len(carry_y):
            yield carry_x, carry_y

    return tf.data.Dataset.from_generator(generate, output_signature=(
        tf.TensorSpec((None, *input_shape), tf.float32), tf.TensorSpec((None,), tf.int32)))


def evaluation_dataset(store: PolarityStore, split: str, input_shape: tuple, batch_size: int = 1024,
                       with_pick: bool = False, *, convention: InputConvention = ORIGINAL_CONVENTION,
                       labels: tuple[int, ...] | None = None) -> tf.data.Dataset:
    """Unshuffled, unaugmented windows in store order (for validation during ``fit``); ``labels``: only the
    traces of these labels."""
    waveforms, classes = _arrays(store, split_rows(store, split, labels))
    if len(classes) == 0:
        raise DataError(f"{store.path}: the {split!r} split is empty"
                        + (" of up and down traces" if labels is not None else ""))
    x = as_model_input(convention.windows(waveforms), input_shape)
    y = np.eye(N_CLASSES, dtype=np.float32)[classes]
    if with_pick:
        y = (pick_target(0, len(x), convention), y)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def predict_probabilities(model, store: PolarityStore, split: str | None, batch_size: int = 1024,
                          chunk_size: int = 65536) -> np.ndarray:
    """Polarity probabilities (n, 3) of a store's split in store order, streamed chunk by chunk
    (:func:`models.polarity_probabilities`)."""
    parts = [polarity_probabilities(model, chunk.waveforms, batch_size=batch_size)
             for chunk in store.iter_chunks(split, chunk_size)]
    return np.concatenate(parts) if parts else np.empty((0, N_CLASSES), dtype=np.float64)
