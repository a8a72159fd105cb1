"""Hi-net (Japan): the original work's private ``HINET_Polarity_15_19`` layout.

CSV ``trace_name``, ``p_arrival_sample``, ``p_status`` (+ optional columns) and HDF5 ``data/<trace_name>`` of
shape (n, 3), components in columns with Z = column 2. Labels: ``P`` -> up, ``k`` -> unknown, any other non-blank
code -> down (the original rule, see ``labels.py``). The event is the ``source_id`` column when present, else the
part of ``trace_name`` before the first ``.`` (names are ``<event>.<network>.<station>``); likewise the station.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from attpd_bench.data.labels import INVALID, labels_from_hinet_status
from attpd_bench.data.reader import (NamedDatasets, RawReader, canonical_frame, find_file, read_metadata,
                                     to_float, to_int)

COMPONENT_ORDER = "ENZ"  # columns of each (n, 3) dataset; the original reads column 2
REQUIRED = ("trace_name", "p_arrival_sample", "p_status")


class HinetReader(RawReader):
    dataset = "hinet"

    def __init__(self, source: Path):
        source = Path(source)
        self.metadata_path = find_file(source, ("HINET_Polarity_15_19.csv",), ".csv", "Hi-net metadata CSV")
        folder = self.metadata_path.parent if source.is_file() else source
        self.waveform_path = find_file(folder, (self.metadata_path.stem + ".hdf5", "HINET_Polarity_15_19.hdf5"),
                                       ".hdf5", "Hi-net waveform HDF5")
        self.meta = read_metadata(self.metadata_path, REQUIRED, "Hi-net")
        self.labels = labels_from_hinet_status(self.meta["p_status"])
        self.label_reasons = np.where(self.labels == INVALID, "blank p_status", "")
        self.p_samples = to_int(self.meta["p_arrival_sample"])
        parts = self.meta["trace_name"].str.split(".", n=2, expand=True).reindex(columns=[0, 1, 2]).fillna("")
        pick = lambda col, fallback: self.meta[col] if col in self.meta else fallback  # noqa: E731
        snr = to_float(self.meta["snr_db"]) if "snr_db" in self.meta else np.nan
        self.canonical = canonical_frame(
            self.meta, source_trace_name=self.meta["trace_name"], source_id=pick("source_id", parts[0]),
            network=pick("station_network_code", parts[1]), station=pick("station_code", parts[2]),
            labels=self.labels, snr_db=np.broadcast_to(snr, len(self.meta)))

    def open_waveforms(self, h5):
        return NamedDatasets(h5, self.waveform_path, component_axis=1, z=COMPONENT_ORDER.index("Z"))
