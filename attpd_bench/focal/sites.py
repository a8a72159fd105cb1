"""Where the stations and the events are, and the velocity model: what SKHASH needs besides the polarities.

From the user's files where given (``--stations``, ``--catalog``, ``--velocity-model``), else from a synthetic
region's truth, else from the coordinates a store carries; what none of them knows is one error naming the
options to give.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench.data.recordings import read_stations
from attpd_bench.errors import DataError
from attpd_bench.focal.polarities import BLANK_CODE, match_codes
from attpd_bench.focal.skhash import CATALOG_COLUMNS, MATCH_COLUMNS, STATION_COLUMNS

GEOMETRY_OPTIONS = {"stations": "--stations FILE (network,station,location,channel,latitude,longitude,"
                                "elevation)",
                    "catalog": "--catalog FILE (event_id,time,latitude,longitude,depth)",
                    "velocity_model": "--velocity-model FILE (depth,vp lines) or a region's model (ins, hinet, "
                                      "scsn, pnw)"}


@dataclass
class Geometry:
    """What SKHASH needs besides the polarities: where the stations and the events are, and the velocity
    model it traces take-off angles in."""

    stations: pd.DataFrame  # STATION_COLUMNS
    catalog: pd.DataFrame  # CATALOG_COLUMNS
    velocity_model: str  # the text of a depth,vp file


def geometry(meta: pd.DataFrame, *, truth: pd.DataFrame | None = None, truth_path: Path | None = None,
             stations: Path | None = None, catalog: Path | None = None,
             velocity_model: Path | None = None) -> Geometry:
    """Stations, catalogue and velocity model for the traces of ``meta``: from the user's files where given,
    else from a synthetic region's truth (``truth``, aligned with ``meta``; its ``synth.json`` has the velocity
    model), else from the coordinates the store carries. What none of them knows is one error naming the
    options to give."""
    codes = match_codes(meta)
    located = truth if truth is not None else meta  # where coordinates are read from
    found: dict[str, object] = {}
    if stations is not None:
        # StationXML or CSV, read as `attpd predict --stations` reads them; blank codes as SKHASH's '--'
        table = read_stations(stations)
        for column in MATCH_COLUMNS:
            table[column] = table[column].fillna("").astype(str).str.strip().replace("", BLANK_CODE)
        found["stations"] = table.loc[:, list(STATION_COLUMNS)]
    elif {"station_latitude_deg", "station_longitude_deg"} <= set(located):
        table = codes.assign(latitude=located["station_latitude_deg"].to_numpy(),
                             longitude=located["station_longitude_deg"].to_numpy(),
                             elevation=located["station_elevation_m"].to_numpy() if "station_elevation_m" in located
                             else 0.0)
        if table[["latitude", "longitude"]].notna().all().all():
            found["stations"] = table.drop_duplicates(list(MATCH_COLUMNS)).reset_index(drop=True)
    if catalog is not None:
        found["catalog"] = _read_user_table(catalog, CATALOG_COLUMNS, "--catalog")
    elif {"source_latitude_deg", "source_longitude_deg", "source_depth_km"} <= set(located):
        time_column = "origin_time" if truth is not None else "source_origin_time"
        table = pd.DataFrame({"event_id": meta["source_id"].astype(str).to_numpy(),
                              "time": located[time_column].to_numpy() if time_column in located else "",
                              "latitude": located["source_latitude_deg"].to_numpy(),
                              "longitude": located["source_longitude_deg"].to_numpy(),
                              "depth": located["source_depth_km"].to_numpy()})
        if table[["latitude", "longitude", "depth"]].notna().all().all():
            found["catalog"] = table.drop_duplicates("event_id").reset_index(drop=True)
    if velocity_model is not None:
        found["velocity_model"] = _read_velocity_model(velocity_model)
    elif truth_path is not None:
        found["velocity_model"] = _synthetic_velocity_model(Path(truth_path))
    missing = [GEOMETRY_OPTIONS[key] for key in GEOMETRY_OPTIONS if key not in found]
    if missing:
        raise DataError("SKHASH needs station coordinates, origins and a velocity model, and the input does not "
                        "carry them all: give " + "; ".join(missing))
    known = pd.MultiIndex.from_frame(found["stations"][list(MATCH_COLUMNS)].astype(str))
    unmatched = ~pd.MultiIndex.from_frame(codes).isin(known)
    if unmatched.any():
        first = ".".join(codes[unmatched].iloc[0])
        raise DataError(f"{stations}: --stations has no row for station {first} ({int(unmatched.sum())} "
                        f"traces unmatched)")
    return Geometry(found["stations"], found["catalog"], found["velocity_model"])


def _read_user_table(path: Path, columns: tuple[str, ...], option: str) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype={c: str for c in ("event_id", *MATCH_COLUMNS)}, comment="#")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: {option} cannot be read as CSV ({exc})") from None
    missing = [c for c in columns if c not in table]
    if missing:
        raise DataError(f"{path}: {option} has no column {missing[0]!r} (expected {', '.join(columns)})")
    return table.loc[:, list(columns)].fillna({c: BLANK_CODE for c in MATCH_COLUMNS if c in columns})


def _read_velocity_model(path: Path) -> str:
    """A depth,vp file, or the name of a synthetic region whose model to use (ins, hinet, scsn, pnw)."""
    from attpd_bench.focal.velocity import MODELS

    if str(path) in MODELS and not Path(path).exists():
        return MODELS[str(path)].skhash_text()
    try:
        nodes = pd.read_csv(path, names=["depth", "vp"], comment="#")
        values = nodes.to_numpy(dtype=np.float64)
    except (OSError, ValueError, pd.errors.ParserError):
        raise DataError(f"{path}: --velocity-model must be depth,vp lines of numbers (km, km/s)") from None
    if len(values) < 2 or np.isnan(values).any():
        raise DataError(f"{path}: --velocity-model must hold at least two depth,vp lines of numbers")
    return Path(path).read_text()


def _synthetic_velocity_model(truth_path: Path) -> str:
    from attpd_bench.data.synth import SYNTH_MARKER
    from attpd_bench.focal.velocity import VelocityModel

    marker = truth_path.parent / SYNTH_MARKER
    try:
        spec = json.loads(marker.read_text())["velocity_model"]
    except (OSError, ValueError, KeyError):
        raise DataError(f"{marker}: no velocity model of the synthetic region beside {truth_path.name}; give "
                        f"{GEOMETRY_OPTIONS['velocity_model']}") from None
    return VelocityModel(**spec).skhash_text()
