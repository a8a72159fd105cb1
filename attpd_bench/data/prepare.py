"""Raw published layout -> canonical store, streaming in bounded memory.

Memory is bounded by one chunk of raw traces plus the (small) metadata: waveforms go to the store's HDF5 as
they are read, and the split, which needs every event id, is decided from the metadata at the end.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from attpd_bench.data.hinet import HinetReader
from attpd_bench.data.instance import InstanceReader
from attpd_bench.data.pnw import PnwReader
from attpd_bench.data.reader import RawReader
from attpd_bench.data.scsn import ScsnReader
from attpd_bench.data.store import PolarityStore, StoreWriter, carve_dev, event_split, original_split
from attpd_bench.data.synth import SYNTH_MARKER, TRUTH_FILE, UNREAD, UNREAD_TREATMENTS
from attpd_bench.errors import DataError

READERS: dict[str, type[RawReader]] = {"ins": InstanceReader, "hinet": HinetReader, "scsn": ScsnReader,
                                       "pnw": PnwReader}
DATASETS = tuple(READERS)
SPLIT_MODES = ("event", "original")
SKIPPED_FILE = "skipped.csv"


def open_reader(dataset: str, source: Path) -> RawReader:
    if dataset not in READERS:
        raise DataError(f"unknown data set {dataset!r}; expected one of {', '.join(DATASETS)}")
    return READERS[dataset](Path(source))


@dataclass
class PrepareReport:
    read: int = 0
    written: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    skipped_traces: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"read": self.read, "written": self.written, "skipped": dict(self.skipped.most_common())}


DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def check_dataset_name(name: str) -> str:
    """A user's data-set name: lower-case letters, digits and dashes (it becomes MLflow experiment and
    registered-model names, ``attpd/<name>`` and ``attpd-<model>-<name>``)."""
    if not DATASET_NAME.match(name or ""):
        raise DataError(f"--dataset {name!r}: a data-set name is lower-case letters, digits and dashes "
                        f"(e.g. my-network)")
    return name


class UnreadPicks:
    """A synthetic region's picks that nobody read for polarity (its ``truth.csv``, ``unknown_cause``), and the
    label its analyst would have written had she read them (``read_label``). ``treatment``: ``keep`` them
    unknown as the published sets do, ``drop`` them, or ``read`` them (store the read label)."""

    def __init__(self, source: Path, treatment: str):
        if treatment not in UNREAD_TREATMENTS:
            raise DataError(f"--unread {treatment!r}: expected one of {', '.join(UNREAD_TREATMENTS)}")
        truth_path = Path(source) / TRUTH_FILE
        if not (Path(source) / SYNTH_MARKER).is_file() or not truth_path.is_file():
            raise DataError(f"--unread {treatment}: {source} is not a synthetic region of `attpd data synth` (no "
                            f"{SYNTH_MARKER} and {TRUTH_FILE}); only a synthetic region knows which picks were "
                            f"never read (use --unread keep)")
        truth = pd.read_csv(truth_path, usecols=["source_trace_name", "unknown_cause", "read_label"],
                            dtype={"source_trace_name": str}, keep_default_na=False)
        unread = truth[truth["unknown_cause"] == UNREAD]
        self.treatment = treatment
        self.read_label = dict(zip(unread["source_trace_name"], unread["read_label"].astype(int)))

    def apply(self, chunk):
        """The chunk with its unread picks dropped (listed as skipped) or relabelled."""
        unread = chunk.meta["source_trace_name"].map(self.read_label)
        hit = unread.notna().to_numpy()
        if not hit.any():
            return chunk
        if self.treatment == "read":
            chunk.meta.loc[hit, "label"] = unread[hit].to_numpy().astype(chunk.meta["label"].dtype)
            return chunk
        chunk.skipped.extend((name, f"not read for polarity ({TRUTH_FILE}; --unread drop)")
                             for name in chunk.meta.loc[hit, "source_trace_name"])
        chunk.waveforms, chunk.meta = chunk.waveforms[~hit], chunk.meta[~hit].reset_index(drop=True)
        return chunk


def prepare_store(dataset: str, source: Path | None, out: Path, *, seed: int = 0, split_mode: str = "event",
                  chunk_size: int = 512, overwrite: bool = False, reader: RawReader | None = None,
                  unread: str = "keep",
                  on_chunk: Callable[[int, int], None] | None = None) -> tuple[PolarityStore, PrepareReport]:
    """Read ``source`` in ``dataset``'s layout (or, with ``reader``, a user's recordings under the name
    ``dataset``) and write the canonical store ``out`` atomically. ``unread`` (a synthetic region only): how
    the picks its analyst never read are stored (:class:`UnreadPicks`); ``keep`` is the published sets' way.

    ``on_chunk(done, total)`` reports progress. Single bad traces are skipped and reported (also listed in the
    store's ``skipped.csv``); a problem with a whole file or column raises :class:`DataError` and leaves no store.
    """
    if split_mode not in SPLIT_MODES:
        raise DataError(f"unknown split mode {split_mode!r}; expected one of {', '.join(SPLIT_MODES)}")
    if chunk_size < 1:
        raise DataError(f"--chunk-size must be at least 1, got {chunk_size}")
    if reader is None:
        reader = open_reader(dataset, source)
    else:
        check_dataset_name(dataset)
        source = reader
    unread_picks = None if unread == "keep" else UnreadPicks(Path(source), unread)
    report = PrepareReport()
    writer = StoreWriter(out, dataset, overwrite=overwrite)
    try:
        for chunk in reader.chunks(chunk_size):
            if unread_picks is not None:
                chunk = unread_picks.apply(chunk)
            writer.append(chunk.waveforms, chunk.meta)
            report.read += len(chunk.waveforms) + len(chunk.skipped)
            report.written += len(chunk.waveforms)
            report.skipped.update(_reason_kind(r) for _, r in chunk.skipped)
            report.skipped_traces.extend(chunk.skipped)
            if on_chunk:
                on_chunk(report.read, len(reader))
        if report.written == 0:
            reasons = "; ".join(f"{n} x {kind}" for kind, n in report.skipped.most_common(3))
            raise DataError(f"{source}: no valid trace to store, all {report.read} skipped ({reasons or 'none read'})")
        split = _split(writer, split_mode, seed, has_source_split=reader.source_split is not None)
        if report.skipped_traces:
            writer.attach_table(SKIPPED_FILE, pd.DataFrame(report.skipped_traces,
                                                           columns=["source_trace_name", "reason"]))
        store = writer.commit(split, split_mode=split_mode, seed=seed,
                              extra_manifest={"prepare": report.as_dict(), "unread": unread,
                                              "source": str(source if reader is source else Path(source).resolve())})
    except BaseException:
        writer.abort()
        raise
    return store, report


def _split(writer: StoreWriter, split_mode: str, seed: int, *, has_source_split: bool) -> np.ndarray | None:
    if writer.n == 0:
        return None  # commit reports the empty store
    if split_mode == "original":
        return original_split(writer.n, seed=seed)
    events = writer.column("source_id")
    if has_source_split:
        return carve_dev(events, writer.column("source_split"), seed)
    return event_split(events, seed)


def _reason_kind(reason: str) -> str:
    """Group reasons for the report: drop the trace-specific numbers after the first ' (' or quote."""
    return reason.split(" (")[0].split(" '")[0]
