"""What the four layout readers share: file checks, metadata validation, Z-component access, the chunk loop.

A reader turns one published layout into :class:`TraceChunk` s: 600-sample windows with P at 300 plus the
store's reader columns (``store.READER_COLUMNS``). A trace that cannot be used (missing waveform, wrong shape,
NaN/inf samples, P pick outside the trace, missing or unknown polarity) is skipped with a reason; nothing is
ever zero-filled. Problems with a whole file or column raise :class:`DataError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np
import pandas as pd

from attpd_bench.data.labels import INVALID
from attpd_bench.data.preprocess import p_in_range, preprocess_long
from attpd_bench.data.store import CHANNEL_COLUMNS, PASSTHROUGH_COLUMNS, READER_COLUMNS
from attpd_bench.errors import DataError


@dataclass
class TraceChunk:
    waveforms: np.ndarray  # (n, 600) float32
    meta: pd.DataFrame  # READER_COLUMNS (+ any PASSTHROUGH_COLUMNS)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source trace name, reason)


def open_hdf5(path: Path) -> h5py.File:
    """Open read-only, turning 'not HDF5 / truncated / missing' into one clear line."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file (truncated or another format: {exc})") from None


def read_metadata(path: Path, required: tuple[str, ...], layout: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: metadata file not found")
    try:
        meta = pd.read_csv(path, dtype=str, keep_default_na=False, low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [c for c in required if c not in meta.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(repr(c) for c in missing)} "
                        f"(expected for the {layout} layout)")
    return meta


def find_file(source: Path, candidates: tuple[str, ...], suffix: str, what: str) -> Path:
    """``source`` itself, one of the published file names inside it, or the only ``*suffix`` file there."""
    if source.is_file():
        return source
    if not source.is_dir():
        raise DataError(f"{source}: no such file or folder")
    for name in candidates:
        if (source / name).is_file():
            return source / name
    found = sorted(source.glob(f"*{suffix}"))
    if len(found) == 1:
        return found[0]
    raise DataError(f"{source}: cannot find the {what} (expected {' or '.join(candidates)}"
                    f"{'' if not found else f'; found {len(found)} *{suffix} files'})")


def to_int(values: pd.Series) -> np.ndarray:
    """Numeric column -> int64 with -1 where blank or not a number (those traces are skipped)."""
    num = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    ok = np.isfinite(num)
    out = np.full(len(num), -1, dtype=np.int64)
    out[ok] = np.round(num[ok]).astype(np.int64)
    return out


def to_float(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(np.float64)


def declared_component_order(h5: h5py.File, fallback: str) -> str:
    """``/data_format/component_order`` (dataset or attribute, as SeisBench writes it), else the layout's."""
    fmt = h5.get("data_format")
    if fmt is None:
        return fallback
    value = fmt["component_order"][()] if "component_order" in fmt else fmt.attrs.get("component_order")
    if value is None:
        return fallback
    return value.decode() if isinstance(value, bytes) else str(value)


def z_index(order: str, path: Path) -> int:
    if "Z" not in order.upper():
        raise DataError(f"{path}: component order {order!r} has no vertical (Z) component")
    return order.upper().index("Z")


# ---------------------------------------------------------------------------------- waveform access
class NamedDatasets:
    """INSTANCE native / Hi-net: one HDF5 dataset per trace, ``data/<trace_name>``, components on ``axis``."""

    def __init__(self, h5: h5py.File, path: Path, component_axis: int, z: int, group: str = "data"):
        if group not in h5:
            raise DataError(f"{path}: no '/{group}' group (expected data/<trace_name> datasets)")
        self.group, self.path, self.axis, self.z = h5[group], path, component_axis, z

    def read(self, names: np.ndarray) -> tuple[list[np.ndarray | None], list[str]]:
        # h5py's low-level API: ~4x faster per trace than Group.get + slicing, which dominates at ~10k traces/s
        traces, reasons = [], []
        gid = self.group.id
        for name in names:
            try:
                dset = h5py.h5d.open(gid, name.encode())
            except KeyError:
                traces.append(None), reasons.append("waveform missing from the HDF5 file")
                continue
            shape = dset.shape
            if len(shape) != 2 or shape[self.axis] <= self.z:
                traces.append(None)
                reasons.append(f"waveform shape {shape}, expected 2-D with >= {self.z + 1} components "
                               f"on axis {self.axis}")
                continue
            buf = np.empty(shape, dtype=dset.dtype)
            try:
                dset.read(h5py.h5s.ALL, h5py.h5s.ALL, buf)
            except OSError as exc:
                raise DataError(f"{self.path}: cannot read 'data/{name}' (truncated file? {exc})") from None
            traces.append(buf[self.z] if self.axis == 0 else buf[:, self.z])
            reasons.append("")
        return traces, reasons


_BUCKET_RE = re.compile(r"^(?P<bucket>[^$]+)\$(?P<index>\d+),:(?P<comp>\d+),:(?P<len>\d+)$")


class Buckets:
    """SeisBench layout: ``/data/bucketN`` arrays (n, C, L), trace names ``bucketN$i,:C,:L``.

    Each bucket's rows of a chunk are read as one hyperslab of the Z component from the lowest to the highest
    row asked for (SeisBench writes buckets in order, so the span is dense); sparse requests fall back to
    reading row by row."""

    def __init__(self, h5: h5py.File, path: Path, z: int):
        if "data" not in h5:
            raise DataError(f"{path}: no '/data' group (expected SeisBench buckets /data/bucketN)")
        self.data, self.path, self.z = h5["data"], path, z

    def read(self, names: np.ndarray) -> tuple[list[np.ndarray | None], list[str]]:
        parsed = pd.Series(names, dtype=str).str.extract(_BUCKET_RE)
        traces: list[np.ndarray | None] = [None] * len(names)
        reasons = ["" for _ in names]
        bad = parsed["bucket"].isna().to_numpy()
        for i in np.flatnonzero(bad):
            reasons[i] = "trace_name is not a SeisBench locator 'bucketN$i,:C,:L'"
        index = pd.to_numeric(parsed["index"]).to_numpy()
        for bucket, pos in pd.Series(np.arange(len(names)))[~bad].groupby(parsed["bucket"][~bad]):
            pos = pos.to_numpy()
            ds = self.data.get(bucket)
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 3 or ds.shape[1] <= self.z:
                for i in pos:
                    reasons[i] = (f"bucket '{bucket}' missing or not (n, C, L) with a Z component"
                                  if ds is None or ds.ndim != 3 else f"bucket '{bucket}' has no component {self.z}")
                continue
            rows = index[pos].astype(np.int64)
            inside = rows < ds.shape[0]
            for i in pos[~inside]:
                reasons[i] = f"row beyond bucket '{bucket}' ({ds.shape[0]} rows)"
            pos, rows = pos[inside], rows[inside]
            if len(rows) == 0:
                continue
            lo, hi = int(rows.min()), int(rows.max()) + 1
            try:
                if hi - lo <= 4 * len(rows):
                    block = ds[lo:hi, self.z, :]
                    for i, r in zip(pos, rows):
                        traces[i] = block[r - lo]
                else:
                    for i, r in zip(pos, rows):
                        traces[i] = ds[int(r), self.z, :]
            except OSError as exc:
                raise DataError(f"{self.path}: cannot read '{ds.name}' (truncated file? {exc})") from None
        return traces, reasons


# ---------------------------------------------------------------------------------- the shared loop
class RawReader:
    """Base for a published layout: subclasses set ``meta`` (validated), ``labels``, ``p_samples`` and
    ``canonical`` (the reader columns), and implement :meth:`open_waveforms`."""

    dataset: str = ""
    waveform_path: Path
    #: False for prediction: a trace without a usable polarity label is still read (its label stays INVALID)
    labels_required: bool = True

    meta: pd.DataFrame
    canonical: pd.DataFrame
    labels: np.ndarray
    p_samples: np.ndarray
    label_reasons: np.ndarray  # why a label is INVALID, per trace

    def __len__(self) -> int:
        return len(self.canonical)

    @property
    def source_split(self) -> np.ndarray | None:
        """The source's own split per trace (train/test), or None when it ships none."""
        return None

    def open_waveforms(self, h5: h5py.File):
        raise NotImplementedError

    def chunks(self, chunk_size: int = 512) -> Iterator[TraceChunk]:
        with open_hdf5(self.waveform_path) as h5:
            access = self.open_waveforms(h5)
            names = self.meta["trace_name"].to_numpy(str)
            for start in range(0, len(self), chunk_size):
                sl = slice(start, start + chunk_size)
                traces, reasons = access.read(names[sl])
                yield self._finish(traces, reasons, sl)

    def _finish(self, traces: list[np.ndarray | None], reasons: list[str], sl: slice) -> TraceChunk:
        """Validate and preprocess one chunk: traces of equal length are filtered together."""
        n = len(traces)
        labels, p = self.labels[sl], self.p_samples[sl]
        reasons = list(reasons)
        if self.labels_required:
            for i in range(n):
                if not reasons[i] and labels[i] == INVALID:
                    reasons[i] = self.label_reasons[sl][i]
        lengths = np.array([-1 if t is None else len(t) for t in traces])
        for i in np.flatnonzero((lengths >= 0) & ~p_in_range(p, lengths)):
            if not reasons[i]:
                reasons[i] = f"P pick {p[i]} outside the usable trace (needs 300 samples each side of P, " \
                             f"trace has {lengths[i]})"
        windows = np.zeros((n, 600), dtype=np.float32)  # filled below; rows of skipped traces are dropped
        ok = np.array([not r for r in reasons], dtype=bool)
        for length in np.unique(lengths[ok]):
            idx = np.flatnonzero(ok & (lengths == length))
            raw = np.stack([traces[i] for i in idx]).astype(np.float64)
            finite = np.isfinite(raw).all(axis=1)
            for i in idx[~finite]:
                reasons[i] = "NaN or inf samples in the waveform"
            ok[idx[~finite]] = False
            if finite.any():
                windows[idx[finite]] = preprocess_long(raw[finite], p[idx[finite]])
        return self._chunk(windows, ok, reasons, sl)

    def _chunk(self, windows: np.ndarray, ok: np.ndarray, reasons: list[str], sl: slice) -> TraceChunk:
        canon = self.canonical.iloc[sl]
        names = canon["source_trace_name"].to_numpy(str)
        skipped = [(names[i], reasons[i]) for i in np.flatnonzero(~ok)]
        return TraceChunk(windows[ok], canon[ok].reset_index(drop=True), skipped)


def canonical_frame(meta: pd.DataFrame, *, source_trace_name, source_id, network, station, labels,
                    snr_db, location=None, channel=None) -> pd.DataFrame:
    """The reader columns in the store's names, plus any pass-through columns the layout has. A blank
    ``location`` becomes ``--``; ``channel`` is the vertical channel's code, empty where unknown."""
    n = len(meta)
    location = np.broadcast_to("" if location is None else np.asarray(location, dtype=str), n)
    frame = pd.DataFrame({
        "source_trace_name": np.asarray(source_trace_name, dtype=str),
        "source_id": np.asarray(source_id, dtype=str),
        "station_network_code": np.asarray(network, dtype=str),
        "station_code": np.asarray(station, dtype=str),
        "station_location_code": np.where(np.char.strip(location.astype(str)) == "",
                                          CHANNEL_COLUMNS["station_location_code"], location),
        "station_channel_code": np.broadcast_to("" if channel is None else np.asarray(channel, dtype=str), n),
        "label": np.asarray(labels, dtype=np.int8),
        "trace_snr_db": np.asarray(snr_db, dtype=np.float64),
    })
    for col in PASSTHROUGH_COLUMNS:
        if col in meta.columns and col not in frame:
            frame[col] = meta[col].to_numpy()
    assert tuple(frame.columns[: len(READER_COLUMNS)]) == READER_COLUMNS
    return frame


def word_label_reasons(values: pd.Series, labels: np.ndarray, column: str) -> np.ndarray:
    """Why a polarity word gave no label: blank vs an unrecognised word (named)."""
    words = values.astype(str).str.strip().to_numpy()
    return np.where(labels != INVALID, "",
                    np.where(words == "", f"blank {column}",
                             np.char.add(f"unknown {column} '", np.char.add(words.astype(str), "'"))))


def vertical_channel(meta: pd.DataFrame, column: str) -> np.ndarray | None:
    """The Z channel's code from a band+instrument column (INSTANCE ``station_channels``, PNW
    ``station_channel_code``: ``HH`` -> ``HHZ``); None when the layout has no such column."""
    if column not in meta:
        return None
    codes = meta[column].fillna("").astype(str).str.strip()
    return np.where(codes == "", "", codes + "Z")


def location_codes(meta: pd.DataFrame) -> np.ndarray | None:
    """SeisBench's ``station_location_code`` where the layout has it (codes such as ``00`` kept as text)."""
    if "station_location_code" not in meta:
        return None
    return meta["station_location_code"].fillna("").astype(str).to_numpy()
