"""PNW ComCat (Ni et al. 2023, Pacific Northwest), SeisBench layout.

``comcat_metadata.csv`` + ``comcat_waveforms.hdf5`` (``/data/bucketN`` (n, 3, 15001), order ENZ declared in
``/data_format``). Polarity in ``trace_P_polarity`` (positive / negative / undecidable; 115 published rows are
blank and are skipped, not labelled down as in the original code). Events are ``event_id``. ``trace_snr_db``
holds one value per component as ``"E|N|Z"`` (may be ``nan``); the Z value is kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench.data.labels import labels_from_words
from attpd_bench.data.reader import (Buckets, RawReader, canonical_frame, declared_component_order, find_file,
                                     location_codes, read_metadata, to_int, vertical_channel, word_label_reasons,
                                     z_index)

COMPONENT_ORDER = "ENZ"
REQUIRED = ("trace_name", "trace_P_arrival_sample", "trace_P_polarity", "event_id", "station_network_code",
            "station_code")


def z_snr(values: pd.Series, order: str) -> np.ndarray:
    """``"E|N|Z"`` strings -> the Z component's SNR in dB (NaN where missing)."""
    parts = values.astype(str).str.split("|", expand=True)
    col = order.upper().index("Z")
    if col >= parts.shape[1]:
        return np.full(len(values), np.nan)
    return pd.to_numeric(parts[col], errors="coerce").to_numpy(np.float64)


class PnwReader(RawReader):
    dataset = "pnw"

    def __init__(self, source: Path):
        source = Path(source)
        self.metadata_path = find_file(source, ("comcat_metadata.csv",), ".csv", "PNW metadata CSV")
        folder = self.metadata_path.parent if source.is_file() else source
        self.waveform_path = find_file(folder, ("comcat_waveforms.hdf5",), ".hdf5", "PNW waveform HDF5")
        self.meta = read_metadata(self.metadata_path, REQUIRED, "PNW ComCat")
        self.labels = labels_from_words(self.meta["trace_P_polarity"])
        self.label_reasons = word_label_reasons(self.meta["trace_P_polarity"], self.labels, "trace_P_polarity")
        self.p_samples = to_int(self.meta["trace_P_arrival_sample"])
        snr = z_snr(self.meta["trace_snr_db"], COMPONENT_ORDER) if "trace_snr_db" in self.meta else np.nan
        self.canonical = canonical_frame(
            self.meta, source_trace_name=self.meta["trace_name"], source_id=self.meta["event_id"],
            network=self.meta["station_network_code"], station=self.meta["station_code"], labels=self.labels,
            snr_db=np.broadcast_to(snr, len(self.meta)), location=location_codes(self.meta),
            channel=vertical_channel(self.meta, "station_channel_code"))

    def open_waveforms(self, h5):
        order = declared_component_order(h5, COMPONENT_ORDER)
        return Buckets(h5, self.waveform_path, z_index(order, self.waveform_path))
