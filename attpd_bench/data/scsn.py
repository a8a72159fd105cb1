"""SCSN first-motion set (Ross et al. 2018, southern California).

``scsn_p_2000_2017_6sec_0.5r_fm_{train,test}.hdf5``: ``X`` (N, 600) already cut with P at 300 (stored
unchanged, no filter, as the original), ``Y`` 0/1/2, ``evids``, ``snr``, ``sncls`` (b"NET.STA.CHA"), ``mag``,
``dist``. The files' own train/test split is kept (``source_split``); dev is carved from train by event.
``--source`` is a folder holding both files, or one file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from attpd_bench.data.labels import INVALID, N_CLASSES
from attpd_bench.data.preprocess import STORE_SAMPLES
from attpd_bench.data.reader import RawReader, TraceChunk, canonical_frame, open_hdf5
from attpd_bench.errors import DataError

FILE_PATTERN = "scsn_p_2000_2017_6sec_0.5r_fm_{part}.hdf5"
KEYS = ("X", "Y", "evids", "snr", "sncls")


def _file_part(path: Path) -> str:
    stem = path.stem.lower()
    return "train" if stem.endswith("_train") else "test" if stem.endswith("_test") else ""


class ScsnReader(RawReader):
    dataset = "scsn"

    def __init__(self, source: Path):
        source = Path(source)
        if source.is_dir():
            files = [source / FILE_PATTERN.format(part=p) for p in ("train", "test")]
            files = [f for f in files if f.is_file()] or sorted(source.glob("*.hdf5"))
        elif source.is_file():
            files = [source]
        else:
            raise DataError(f"{source}: no such file or folder")
        if not files:
            raise DataError(f"{source}: no SCSN HDF5 file (expected {FILE_PATTERN.format(part='train|test')})")
        self.files = files
        frames = []
        self._sizes = []
        for path in files:
            with open_hdf5(path) as h5:
                missing = [k for k in KEYS if k not in h5]
                if missing:
                    raise DataError(f"{path}: missing dataset(s) {', '.join(missing)} (expected SCSN keys "
                                    f"{', '.join(KEYS)})")
                shape = h5["X"].shape
                if len(shape) != 2 or shape[1] != STORE_SAMPLES:
                    raise DataError(f"{path}: X has shape {shape}, expected (N, {STORE_SAMPLES})")
                n = shape[0]
                for k in KEYS[1:]:
                    if h5[k].shape[0] != n:
                        raise DataError(f"{path}: {k} has {h5[k].shape[0]} rows but X has {n}")
                y = h5["Y"][:].astype(np.int64).ravel()
                sncls = np.char.decode(h5["sncls"][:].astype("S"), "ascii", "replace").astype(str)
                # NET.STA.CHA (a fourth part would be NET.STA.LOC.CHA: the location is then the third)
                parts = pd.Series(sncls).str.split(".", expand=True).reindex(columns=[0, 1, 2, 3]).astype(object).fillna("")
                four = parts[3] != ""
                frames.append(pd.DataFrame({
                    "name": [f"{path.stem}${i}" for i in range(n)], "y": y, "evid": h5["evids"][:].astype(str),
                    "net": parts[0].to_numpy(), "sta": parts[1].to_numpy(),
                    "loc": np.where(four, parts[2], ""), "cha": np.where(four, parts[3], parts[2]),
                    "snr": h5["snr"][:].astype(np.float64).ravel(), "source_split": _file_part(path)}))
                self._sizes.append(n)
        meta = pd.concat(frames, ignore_index=True)
        valid = (meta["y"] >= 0) & (meta["y"] < N_CLASSES)
        self.labels = np.where(valid, meta["y"], INVALID).astype(np.int8)
        self.label_reasons = np.where(valid, "", "Y = " + meta["y"].astype(str) + ", expected 0, 1 or 2")
        self.meta = meta
        self.canonical = canonical_frame(meta,
                                         source_trace_name=meta["name"], source_id=meta["evid"],
                                         network=meta["net"], station=meta["sta"], labels=self.labels,
                                         snr_db=meta["snr"], location=meta["loc"], channel=meta["cha"])
        if not self.canonical["source_split"].astype(bool).all():
            self.canonical = self.canonical.drop(columns="source_split")

    @property
    def source_split(self) -> np.ndarray | None:
        return self.canonical["source_split"].to_numpy() if "source_split" in self.canonical else None

    def chunks(self, chunk_size: int = 8192) -> Iterator[TraceChunk]:
        offset = 0
        for path, n in zip(self.files, self._sizes):
            with open_hdf5(path) as h5:
                for start in range(0, n, chunk_size):
                    stop = min(start + chunk_size, n)
                    try:
                        x = h5["X"][start:stop].astype(np.float32)
                    except OSError as exc:
                        raise DataError(f"{path}: cannot read X rows {start}-{stop} (truncated file? {exc})") \
                            from None
                    sl = slice(offset + start, offset + stop)
                    reasons = list(self.label_reasons[sl]) if self.labels_required else [""] * (stop - start)
                    finite = np.isfinite(x).all(axis=1)
                    for i in np.flatnonzero(~finite):
                        reasons[i] = reasons[i] or "NaN or inf samples in the waveform"
                    ok = np.array([not r for r in reasons], dtype=bool)
                    yield self._chunk(x, ok, reasons, sl)
            offset += n

