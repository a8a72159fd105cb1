"""The synthetic truth of a store's traces: the true sign, mechanism and geometry ``attpd data synth`` planted."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from attpd_bench.errors import DataError


def find_truth(source: Path) -> Path | None:
    """``truth.csv`` of the synthetic region ``source`` is (a raw folder) or was prepared from (a store, whose
    manifest names its source), if it is one."""
    from attpd_bench.data.store import MANIFEST_FILE
    from attpd_bench.data.synth import SYNTH_MARKER, TRUTH_FILE

    source = Path(source)
    if (source / MANIFEST_FILE).is_file():
        source = Path(json.loads((source / MANIFEST_FILE).read_text()).get("source", source))
    return source / TRUTH_FILE if (source / SYNTH_MARKER).is_file() and (source / TRUTH_FILE).is_file() else None


TRUTH_COLUMNS = ("source_trace_name", "origin_time", "source_latitude_deg", "source_longitude_deg",
                 "source_depth_km", "strike", "dip", "rake", "station_latitude_deg", "station_longitude_deg",
                 "true_sign")


def aligned_truth(meta: pd.DataFrame, truth_path: Path) -> pd.DataFrame:
    """The truth table's row of each trace of ``meta`` (by its name in the published data set)."""
    truth_path = Path(truth_path)
    try:
        truth = pd.read_csv(truth_path, dtype={"source_trace_name": str, "event_id": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{truth_path}: cannot read the truth table ({exc})") from None
    missing = [c for c in TRUTH_COLUMNS if c not in truth]
    if missing:
        raise DataError(f"{truth_path}: not a truth table of `attpd data synth` (no column {missing[0]})")
    truth = truth.drop_duplicates("source_trace_name").set_index("source_trace_name")
    names = meta["source_trace_name"].astype(str)
    unknown = ~names.isin(truth.index)
    if unknown.any():
        raise DataError(f"{truth_path}: has no row for trace {names[unknown].iloc[0]!r} "
                        f"({int(unknown.sum())} of {len(meta)} traces): the truth of another region?")
    return truth.loc[names.to_numpy()].reset_index()
