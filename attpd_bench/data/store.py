"""The canonical store: a SeisBench-compatible folder every later step reads.

::

    STORE/
      metadata.csv      one row per trace (columns below), SeisBench naming
      waveforms.hdf5    /data/bucket0 float32 (N, 1, 600), chunked + compressed; /data_format (Z, CW, 100 Hz)
      manifest.json     fingerprint, data set, split mode and seed, prepare report

``trace_name`` is ``bucket0$i,:1,:600`` (SeisBench's locator), so ``seisbench.data.WaveformDataset(STORE)``
opens it. The fingerprint is a SHA-256 of the waveforms, labels and split, recorded by every MLflow run.
Writes are atomic: :class:`StoreWriter` fills a hidden temporary folder beside the target and renames it at
the end; a crash leaves no store behind.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np
import pandas as pd

from attpd_bench.data.labels import CLASS_NAMES, N_CLASSES, label_names
from attpd_bench.data.preprocess import SAMPLING_RATE_HZ, STORE_P_SAMPLE, STORE_SAMPLES
from attpd_bench.errors import DataError

METADATA_FILE = "metadata.csv"
WAVEFORMS_FILE = "waveforms.hdf5"
MANIFEST_FILE = "manifest.json"
BUCKET = "bucket0"
FORMAT_VERSION = 1
SPLITS = ("train", "dev", "test")

#: Columns every reader delivers (the store adds trace_name, trace_polarity, split and the constants).
READER_COLUMNS = ("source_trace_name", "source_id", "station_network_code", "station_code",
                  "station_location_code", "station_channel_code", "label", "trace_snr_db")
#: What SKHASH matches a pick on besides network and station: the location code (``--`` when blank, SKHASH's
#: and FDSN's convention) and the vertical channel's code (e.g. ``HHZ``; empty where the layout never says).
#: Stores written before these columns existed read as blank location, unknown channel.
CHANNEL_COLUMNS = {"station_location_code": "--", "station_channel_code": ""}
#: Optional columns carried through when a layout has them (SeisBench names).
PASSTHROUGH_COLUMNS = ("source_origin_time", "source_latitude_deg", "source_longitude_deg", "source_depth_km",
                       "source_magnitude", "station_latitude_deg", "station_longitude_deg", "trace_P_onset",
                       "source_split")
STORE_COLUMNS = ("trace_name", "trace_polarity", "label", "trace_p_arrival_sample", "trace_sampling_rate_hz",
                 "source_trace_name", "source_id", "station_network_code", "station_code", "trace_snr_db",
                 "split", "source_dataset")


# --------------------------------------------------------------------------------------------- splits
def event_split(source_ids, seed: int, fractions=(0.8, 0.1, 0.1)) -> np.ndarray:
    """Train/dev/test by event: every trace of an event lands in the same split.

    Events are sorted before the seeded permutation, so the split depends on the seed and the set of events,
    not on the order the traces were read in."""
    ids = np.asarray(source_ids).astype(str)
    events, inverse = np.unique(ids, return_inverse=True)
    n = len(events)
    order = np.random.default_rng(seed).permutation(n)
    n_dev = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n))
    wanted = sum(f > 0 for f in fractions)
    if n >= wanted:  # every split asked for gets at least one event when there are enough
        n_dev = max(n_dev, 1) if fractions[1] > 0 else 0
        n_test = max(n_test, 1) if fractions[2] > 0 else 0
    event_split_of = np.empty(n, dtype=object)
    event_split_of[order[: n - n_dev - n_test]] = "train"
    event_split_of[order[n - n_dev - n_test: n - n_test]] = "dev"
    event_split_of[order[n - n_test:]] = "test"
    return event_split_of[inverse]


def carve_dev(source_ids, base_split, seed: int, dev_fraction: float = 0.1) -> np.ndarray:
    """Keep a source's own train/test split and carve dev from its train part, by event."""
    base = np.asarray(base_split).astype(object)
    split = base.copy()
    train = base == "train"
    if train.any():
        carved = event_split(np.asarray(source_ids)[train], seed, (1 - dev_fraction, dev_fraction, 0.0))
        split[np.flatnonzero(train)[carved == "dev"]] = "dev"
    return split


def original_split(n_traces: int, seed: int = 7, test_fraction: float = 0.2,
                   dev_fraction: float = 0.1) -> np.ndarray:
    """The original work's random 80/20 *trace* split (it leaks events between splits; for comparison only).

    Dev, which the original did not have, is a random ``dev_fraction`` of the training traces."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_traces)
    n_test = int(round(test_fraction * n_traces))
    n_dev = int(round(dev_fraction * (n_traces - n_test)))
    split = np.full(n_traces, "train", dtype=object)
    split[order[:n_test]] = "test"
    split[order[n_test:n_test + n_dev]] = "dev"
    return split


def fingerprint(waveform_digest: str, labels: np.ndarray, split: np.ndarray) -> str:
    """SHA-256 over the waveform digest, the labels and the split: what a result depends on."""
    h = hashlib.sha256(waveform_digest.encode())
    h.update(np.asarray(labels, dtype=np.int8).tobytes())
    h.update("\n".join(np.asarray(split).astype(str)).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- writer
class StoreWriter:
    """Streams 600-sample windows into a new store; :meth:`commit` assigns splits and renames into place."""

    def __init__(self, path: Path, dataset: str, *, overwrite: bool = False, chunk_rows: int = 1024):
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise DataError(f"{self.path}: a store already exists here (use --overwrite to replace it)")
        if self.path.exists() and not (self.path / MANIFEST_FILE).is_file():
            # --overwrite replaces only what the suite made: never a data set, a thesis, a home folder
            raise DataError(f"{self.path}: not a store (no {MANIFEST_FILE}); --overwrite replaces only a store "
                            f"made by `attpd data prepare`, so move this folder away or choose another --out")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dataset = dataset
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.partial-", dir=self.path.parent))
        self._tmp.chmod(0o755)  # mkdtemp makes it private; a store is meant to be shared
        self._h5 = h5py.File(self._tmp / WAVEFORMS_FILE, "w")
        self._ds = self._h5.create_dataset(
            f"data/{BUCKET}", shape=(0, 1, STORE_SAMPLES), maxshape=(None, 1, STORE_SAMPLES),
            dtype=np.float32, chunks=(chunk_rows, 1, STORE_SAMPLES), compression="lzf")
        fmt = self._h5.create_group("data_format")
        for key, value in (("component_order", "Z"), ("dimension_order", "CW"),
                           ("sampling_rate", SAMPLING_RATE_HZ), ("measurement", "velocity"), ("unit", "counts")):
            fmt.create_dataset(key, data=value)
        self._digest = hashlib.sha256()
        self._meta: list[pd.DataFrame] = []
        self.n = 0

    def append(self, waveforms: np.ndarray, meta: pd.DataFrame) -> None:
        if waveforms.ndim != 2 or waveforms.shape[1] != STORE_SAMPLES or len(waveforms) != len(meta):
            raise ValueError(f"expected ({len(meta)}, {STORE_SAMPLES}) windows, got {waveforms.shape}")
        if len(meta) == 0:
            return
        w = np.ascontiguousarray(waveforms, dtype=np.float32)
        self._ds.resize(self.n + len(w), axis=0)
        self._ds[self.n:self.n + len(w), 0, :] = w
        self._digest.update(w.tobytes())
        self._meta.append(meta.reset_index(drop=True))
        self.n += len(w)

    def column(self, name: str) -> np.ndarray:
        """One metadata column of everything appended so far."""
        return np.concatenate([m[name].to_numpy() for m in self._meta]) if self._meta else np.array([])

    def attach_table(self, filename: str, table: pd.DataFrame) -> None:
        """A side table (e.g. the skipped traces) that is committed with the store."""
        table.to_csv(self._tmp / filename, index=False)

    def commit(self, split: np.ndarray | None = None, *, split_mode: str, seed: int,
               extra_manifest: dict | None = None) -> "PolarityStore":
        """Finish: ``split`` (one entry per appended trace) or, when None, the event split by ``seed``."""
        try:
            meta = pd.concat(self._meta, ignore_index=True) if self._meta else pd.DataFrame(
                columns=list(READER_COLUMNS))
            if self.n == 0:
                raise DataError(f"{self.path}: no valid trace to store (see the skipped traces above)")
            if split is None:
                split = event_split(meta["source_id"].to_numpy(), seed)
            labels = meta["label"].to_numpy(np.int8)
            meta.insert(0, "trace_name", [f"{BUCKET}${i},:1,:{STORE_SAMPLES}" for i in range(self.n)])
            meta.insert(1, "trace_polarity", label_names(labels))
            meta["trace_p_arrival_sample"] = STORE_P_SAMPLE
            meta["trace_sampling_rate_hz"] = SAMPLING_RATE_HZ
            meta["trace_component_order"] = "Z"
            meta["split"] = np.asarray(split, dtype=object)
            meta["source_dataset"] = self.dataset
            ordered = [c for c in STORE_COLUMNS if c in meta] + [c for c in meta if c not in STORE_COLUMNS]
            meta = meta[ordered]
            fp = fingerprint(self._digest.hexdigest(), labels, meta["split"].to_numpy())
            self._h5.attrs["fingerprint"] = fp
            self._h5.close()
            meta.to_csv(self._tmp / METADATA_FILE, index=False)
            manifest = {"format_version": FORMAT_VERSION, "dataset": self.dataset, "fingerprint": fp,
                        "waveform_digest": self._digest.hexdigest(), "n_traces": int(self.n),
                        "split_mode": split_mode, "seed": int(seed),
                        **(extra_manifest or {})}
            (self._tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))
            if self.path.exists():
                shutil.rmtree(self.path)
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return PolarityStore(self.path)

    def abort(self) -> None:
        """Drop everything written so far."""
        try:
            self._h5.close()
        except Exception:  # already closed
            pass
        shutil.rmtree(self._tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------- reader
@dataclass(frozen=True)
class SplitArrays:
    waveforms: np.ndarray  # (n, 600) float32
    labels: np.ndarray  # (n,) int8
    rows: np.ndarray  # row numbers in the store's metadata


class PolarityStore:
    """A canonical store opened for reading: metadata in memory, waveforms read on demand."""

    def __init__(self, path):
        self.path = Path(path)
        for name in (METADATA_FILE, WAVEFORMS_FILE, MANIFEST_FILE):
            if not (self.path / name).is_file():
                raise DataError(f"{self.path}: not a canonical store (missing {name}); "
                                f"build one with `attpd data prepare`")
        try:
            self.manifest = json.loads((self.path / MANIFEST_FILE).read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"{self.path / MANIFEST_FILE}: not valid JSON ({exc})") from None
        codes = ("source_id", "station_code", "station_network_code", *CHANNEL_COLUMNS)
        self.metadata = pd.read_csv(self.path / METADATA_FILE, dtype=dict.fromkeys(codes, str))
        for column, blank in CHANNEL_COLUMNS.items():
            self.metadata[column] = self.metadata[column].fillna(blank) if column in self.metadata else blank
        missing = [c for c in STORE_COLUMNS if c not in self.metadata]
        if missing:
            raise DataError(f"{self.path / METADATA_FILE}: missing column(s) {', '.join(missing)}")
        with self._open() as h5:
            n = h5[f"data/{BUCKET}"].shape[0]
        if n != len(self.metadata):
            raise DataError(f"{self.path}: {n} waveforms but {len(self.metadata)} metadata rows")

    def _open(self) -> h5py.File:
        try:
            return h5py.File(self.path / WAVEFORMS_FILE, "r")
        except OSError as exc:
            raise DataError(f"{self.path / WAVEFORMS_FILE}: not a readable HDF5 file ({exc})") from None

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    @property
    def dataset(self) -> str:
        return self.manifest["dataset"]

    @property
    def name(self) -> str:
        return self.path.name

    def __len__(self) -> int:
        return len(self.metadata)

    def rows(self, split: str | None = None) -> np.ndarray:
        """Row numbers of a split (all rows when None)."""
        if split is None:
            return np.arange(len(self.metadata))
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return np.flatnonzero(self.metadata["split"].to_numpy() == split)

    def labels(self, split: str | None = None) -> np.ndarray:
        return self.metadata["label"].to_numpy(np.int8)[self.rows(split)]

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """Waveforms (n, 600) of sorted row numbers, read as hyperslabs of contiguous runs."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), STORE_SAMPLES), dtype=np.float32)
        if len(rows) == 0:
            return out
        if np.any(np.diff(rows) < 0):
            raise ValueError("rows must be sorted")
        with self._open() as h5:
            ds = h5[f"data/{BUCKET}"]
            # contiguous runs -> one slice each: h5py point selection is slow for many rows
            breaks = np.flatnonzero(np.diff(rows) != 1) + 1
            for run in np.split(np.arange(len(rows)), breaks):
                lo, hi = rows[run[0]], rows[run[-1]] + 1
                out[run] = ds[lo:hi, 0, :]
        return out

    def arrays(self, split: str | None = None) -> SplitArrays:
        """The whole split in memory."""
        rows = self.rows(split)
        return SplitArrays(self.read_rows(rows), self.metadata["label"].to_numpy(np.int8)[rows], rows)

    def iter_chunks(self, split: str | None = None, chunk_size: int = 8192) -> Iterator[SplitArrays]:
        """The split in chunks of at most ``chunk_size`` traces, for data sets that do not fit in memory."""
        rows = self.rows(split)
        labels = self.metadata["label"].to_numpy(np.int8)
        for start in range(0, len(rows), chunk_size):
            r = rows[start:start + chunk_size]
            yield SplitArrays(self.read_rows(r), labels[r], r)

    def identity_tags(self) -> dict[str, str]:
        """What a model trained on this store saw, apart from the labels: the waveforms (their digest, the same
        for a relabelled copy or another prepare of the same traces) and the split (a digest of the split column).
        The audit's in-sample guard compares them (a relabelled copy has another fingerprint but the same traces).
        Stores written before the digest was kept have only their fingerprint."""
        digest = self.manifest.get("waveform_digest")
        splits = hashlib.sha256("\n".join(self.metadata["split"].astype(str)).encode()).hexdigest()
        return {"store_waveforms": digest, "store_splits": splits} if digest else {}

    def with_split(self, split) -> "PolarityStore":
        """The same waveforms and labels under another split (one per row), in memory: nothing is written, and
        the view's fingerprint is this store's combined with the new split, so nothing it trains passes for a
        model of the stored split. Cross-validation's folds are such views."""
        split = np.asarray(split, dtype=object)
        if len(split) != len(self) or not np.isin(split, SPLITS).all():
            raise ValueError(f"a split names one of {', '.join(SPLITS)} for each of the {len(self)} rows")
        view = copy.copy(self)
        view.metadata = self.metadata.assign(split=split)
        view.manifest = {**self.manifest, "fingerprint": fingerprint(self.fingerprint, self.labels(), split)}
        return view

    def summary(self) -> dict:
        """Traces per split and class, events, stations, SNR, fingerprint: what `attpd data info` prints."""
        m = self.metadata
        counts = {s: {c: int(((m["split"] == s) & (m["label"] == k)).sum()) for k, c in enumerate(CLASS_NAMES)}
                  for s in SPLITS}
        snr = pd.to_numeric(m["trace_snr_db"], errors="coerce")
        return {
            "path": str(self.path), "dataset": self.dataset, "fingerprint": self.fingerprint,
            "n_traces": len(m), "split_mode": self.manifest.get("split_mode"), "seed": self.manifest.get("seed"),
            "traces": counts,
            "events": {s: int(m.loc[m["split"] == s, "source_id"].nunique()) for s in SPLITS},
            "stations": int((m["station_network_code"].fillna("").astype(str) + "."
                             + m["station_code"].fillna("").astype(str)).nunique()),
            "snr_db": {"known": int(snr.notna().sum()), "median": _nan_none(snr.median()),
                       "p10": _nan_none(snr.quantile(0.1)), "p90": _nan_none(snr.quantile(0.9))},
            "skipped": self.manifest.get("prepare", {}).get("skipped", {}),
            "n_classes": N_CLASSES,
        }


def _nan_none(x) -> float | None:
    return None if pd.isna(x) else round(float(x), 2)


WRITER_COLUMNS = ("trace_name", "trace_polarity", "trace_p_arrival_sample", "trace_sampling_rate_hz",
                  "trace_component_order", "split", "source_dataset")  # what StoreWriter.commit adds


def relabelled_copy(store: PolarityStore, labels: np.ndarray, out: Path, *, note: dict,
                    chunk_size: int = 8192) -> PolarityStore:
    """A new store at ``out`` with the same waveforms, metadata and split as ``store`` and ``labels`` instead of
    its labels (streamed, chunk by chunk); the manifest names the original and ``note`` says why. The original
    is never touched."""
    labels = np.asarray(labels, dtype=np.int8)
    if len(labels) != len(store):
        raise ValueError(f"{len(labels)} labels for a store of {len(store)} traces")
    if Path(out).resolve() == store.path.resolve():
        raise DataError(f"{out}: the relabelled copy cannot replace its original")
    writer = StoreWriter(out, store.dataset)
    try:
        keep = [c for c in store.metadata if c not in WRITER_COLUMNS]
        for chunk in store.iter_chunks(None, chunk_size):
            meta = store.metadata.iloc[chunk.rows][keep].reset_index(drop=True)
            meta["label"] = labels[chunk.rows]
            writer.append(chunk.waveforms, meta)
    except BaseException:
        writer.abort()
        raise
    return writer.commit(store.metadata["split"].to_numpy(), split_mode=store.manifest.get("split_mode", "copied"),
                         seed=store.manifest.get("seed", 0),
                         extra_manifest={"relabelled_from": {"path": str(store.path),
                                                             "fingerprint": store.fingerprint, **note},
                                         "source": store.manifest.get("source")})
