"""INSTANCE (Michelini et al. 2021, Italy): metadata CSV + waveforms in either published layout.

* native: ``metadata_Instance_events*.csv`` + ``Instance_events_counts.hdf5`` with ``data/<trace_name>``
  (3, 12000), components E, N, Z (Z = row 2, as the original code reads it);
* SeisBench: ``metadata.csv`` + ``waveforms.hdf5`` with ``/data/bucketN`` (n, 3, 12000), ``trace_name`` like
  ``bucket3$17,:3,:12000`` and the order declared in ``/data_format/component_order`` (ZNE).

A declared component order always wins over the documented one. Events are ``source_id``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from attpd_bench.data.labels import labels_from_words
from attpd_bench.data.reader import (Buckets, NamedDatasets, RawReader, canonical_frame, declared_component_order,
                                     find_file, location_codes, read_metadata, to_float, to_int, vertical_channel,
                                     word_label_reasons, z_index)

NATIVE_COMPONENT_ORDER = "ENZ"
SEISBENCH_COMPONENT_ORDER = "ZNE"
METADATA_NAMES = ("metadata_Instance_events_v2.csv", "metadata_Instance_events.csv", "metadata.csv")
WAVEFORM_NAMES = ("Instance_events_counts.hdf5", "waveforms.hdf5")
REQUIRED = ("trace_name", "trace_P_arrival_sample", "trace_polarity", "source_id", "station_network_code",
            "station_code")


class InstanceReader(RawReader):
    dataset = "ins"

    def __init__(self, source: Path):
        source = Path(source)
        self.metadata_path = find_file(source, METADATA_NAMES, ".csv", "INSTANCE metadata CSV")
        folder = self.metadata_path.parent if source.is_file() else source
        self.waveform_path = find_file(folder, WAVEFORM_NAMES, ".hdf5", "INSTANCE waveform HDF5")
        self.meta = read_metadata(self.metadata_path, REQUIRED, "INSTANCE")
        self.labels = labels_from_words(self.meta["trace_polarity"])
        self.label_reasons = word_label_reasons(self.meta["trace_polarity"], self.labels, "trace_polarity")
        self.p_samples = to_int(self.meta["trace_P_arrival_sample"])
        snr = to_float(self.meta["trace_Z_snr_db"]) if "trace_Z_snr_db" in self.meta else np.nan
        self.canonical = canonical_frame(
            self.meta, source_trace_name=self.meta["trace_name"], source_id=self.meta["source_id"],
            network=self.meta["station_network_code"], station=self.meta["station_code"], labels=self.labels,
            snr_db=np.broadcast_to(snr, len(self.meta)), location=location_codes(self.meta),
            channel=vertical_channel(self.meta, "station_channels"))

    def open_waveforms(self, h5):
        seisbench = self.meta["trace_name"].str.contains("$", regex=False).any()
        if seisbench:
            order = declared_component_order(h5, SEISBENCH_COMPONENT_ORDER)
            return Buckets(h5, self.waveform_path, z_index(order, self.waveform_path))
        order = declared_component_order(h5, NATIVE_COMPONENT_ORDER)
        return NamedDatasets(h5, self.waveform_path, component_axis=0, z=z_index(order, self.waveform_path))
