"""Mechanisms in and out as QuakeML (ObsPy): each event's ``FocalMechanism`` as SKHASH found it, and reference
mechanisms (a CSV or a QuakeML catalogue) to score against.

Written: one ``Event`` per event with a mechanism, its ``Origin`` (where known) and a ``FocalMechanism`` with
both nodal planes (the second is the auxiliary plane of the first), the azimuthal gap, the polarity misfit (as a
fraction), the station polarity count, SKHASH's quality in the comment and ``method_id`` naming SKHASH and its
version. ObsPy reads it back (``obspy.read_events``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench.errors import DataError
from attpd_bench.focal.mechanism import auxiliary_plane

ID_PREFIX = "smi:attpd-bench"


def write_mechanisms(path: Path, mechanisms: pd.DataFrame, *, origins: pd.DataFrame | None = None,
                     method: str) -> int:
    """``mechanisms`` (event_id, strike, dip, rake and SKHASH's quality columns where present) as a QuakeML
    catalogue at ``path``; origins from ``origins`` (event_id, time, latitude, longitude, depth in km) or from
    SKHASH's own ``time``/``origin_lat``/``origin_lon``/``origin_depth_km``. Returns the number of events."""
    from obspy import UTCDateTime
    from obspy.core.event import (Catalog, Comment, Event, FocalMechanism, NodalPlane, NodalPlanes, Origin,
                                  ResourceIdentifier)

    solved = mechanisms.dropna(subset=["strike", "dip", "rake"]).drop_duplicates("event_id")
    where = _origins(solved, origins)
    catalog = Catalog(resource_id=ResourceIdentifier(f"{ID_PREFIX}/catalog"))
    for _, row in solved.iterrows():
        event_id = str(row["event_id"])
        event = Event(resource_id=ResourceIdentifier(f"{ID_PREFIX}/event/{event_id}"))
        origin = where.get(event_id)
        if origin is not None:
            time, latitude, longitude, depth_km = origin
            event.origins.append(Origin(resource_id=ResourceIdentifier(f"{ID_PREFIX}/origin/{event_id}"),
                                        time=UTCDateTime(time) if time else UTCDateTime(0), latitude=latitude,
                                        longitude=longitude, depth=depth_km * 1000.0))
            event.preferred_origin_id = event.origins[0].resource_id
        strike2, dip2, rake2 = (float(v[0]) for v in auxiliary_plane(row["strike"], row["dip"], row["rake"]))
        mechanism = FocalMechanism(
            resource_id=ResourceIdentifier(f"{ID_PREFIX}/focalmechanism/{event_id}"),
            nodal_planes=NodalPlanes(nodal_plane_1=NodalPlane(strike=float(row["strike"]), dip=float(row["dip"]),
                                                              rake=float(row["rake"])),
                                     nodal_plane_2=NodalPlane(strike=strike2, dip=dip2, rake=rake2),
                                     preferred_plane=1),
            method_id=ResourceIdentifier(f"{ID_PREFIX}/method/{method}"),
            triggering_origin_id=event.origins[0].resource_id if event.origins else None,
            azimuthal_gap=_number(row.get("azimuthal_gap")),
            misfit=_number(row.get("polarity_misfit"), scale=0.01),
            station_polarity_count=_integer(row.get("num_p_pol", row.get("n_polarities"))))
        if isinstance(row.get("quality"), str):
            mechanism.comments.append(Comment(text=f"SKHASH quality {row['quality']}"))
        event.focal_mechanisms.append(mechanism)
        event.preferred_focal_mechanism_id = mechanism.resource_id
        catalog.events.append(event)
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    catalog.write(str(partial), format="QUAKEML")
    partial.replace(path)
    return len(catalog)


def _origins(mechanisms: pd.DataFrame, origins: pd.DataFrame | None) -> dict[str, tuple]:
    if origins is not None:
        table = origins.astype({"event_id": str}).drop_duplicates("event_id").set_index("event_id")
        return {e: (str(r["time"]) if isinstance(r["time"], str) else None, float(r["latitude"]),
                    float(r["longitude"]), float(r["depth"])) for e, r in table.iterrows()}
    if {"origin_lat", "origin_lon", "origin_depth_km"} <= set(mechanisms):
        return {str(r["event_id"]): (str(r["time"]) if isinstance(r.get("time"), str) else None,
                                     float(r["origin_lat"]), float(r["origin_lon"]), float(r["origin_depth_km"]))
                for _, r in mechanisms.iterrows()}
    return {}


def _number(value, scale: float = 1.0) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value) * scale


def _integer(value) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def read_reference(path: Path) -> pd.DataFrame:
    """Reference mechanisms (event_id, strike, dip, rake): a CSV with those columns, or a QuakeML catalogue whose
    events' preferred focal mechanisms give them (the event id is the last part of the event's resource id)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: --reference not found")
    if path.suffix.lower() in (".xml", ".quakeml", ".qml"):
        from obspy import read_events

        try:
            catalog = read_events(str(path))
        except Exception as exc:  # ObsPy raises many types for a file it cannot read
            raise DataError(f"{path}: --reference cannot be read as QuakeML ({str(exc)[:200]})") from None
        rows = []
        for event in catalog:
            mechanism = event.preferred_focal_mechanism() or (event.focal_mechanisms or [None])[0]
            if mechanism is None or mechanism.nodal_planes is None:
                continue
            plane = mechanism.nodal_planes.nodal_plane_1
            rows.append({"event_id": str(event.resource_id).rstrip("/").split("/")[-1], "strike": plane.strike,
                         "dip": plane.dip, "rake": plane.rake})
        table = pd.DataFrame(rows, columns=["event_id", "strike", "dip", "rake"])
    else:
        try:
            table = pd.read_csv(path, dtype={"event_id": str}, comment="#")
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"{path}: --reference cannot be read as CSV ({exc})") from None
        missing = [c for c in ("event_id", "strike", "dip", "rake") if c not in table]
        if missing:
            raise DataError(f"{path}: --reference has no column {missing[0]!r} (expected event_id, strike, dip, "
                            f"rake, or a QuakeML file)")
    table = table[["event_id", "strike", "dip", "rake"]].drop_duplicates("event_id")
    if table[["strike", "dip", "rake"]].isna().any().any() or not np.isfinite(
            table[["strike", "dip", "rake"]].to_numpy(float)).all():
        raise DataError(f"{path}: --reference has a mechanism without strike, dip or rake")
    return table.rename(columns={c: f"true_{c}" for c in ("strike", "dip", "rake")})
