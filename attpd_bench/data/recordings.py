"""A seismologist's own recordings: waveforms ObsPy reads, P picks, station coordinates -> store windows.

Inputs, each in the field's formats:

* **waveforms**: files, folders or glob patterns of anything :func:`obspy.read` reads (miniSEED, SAC, GSE2,
  ...); a first pass reads headers only, the second reads one file at a time, so memory does not grow with
  the number of files;
* **picks**: a QuakeML catalogue (each event's P picks, phase hint starting with ``P``, with their waveform ids;
  its origins become SKHASH's catalogue), a CSV (``trace_id`` ``NET.STA.LOC.CHA`` or the columns ``network``,
  ``station``, ``location``, ``channel``, of which only ``station`` is required; ``p_time`` in UTC; optional
  ``event_id`` and ``polarity``), or SAC header markers (``sac:a``, ``sac:t0`` ... ``sac:t9``, the event id from
  ``kevnm`` or the file's origin time ``o``);
* **stations**: StationXML (:func:`obspy.read_inventory`) or a CSV (``network, station, location, channel,
  latitude, longitude, elevation``), else the SAC headers' ``stla``, ``stlo``, ``stel``.

A pick matches the vertical channel (``Z``, or Hi-net's ``U``; ``component`` chooses another) of a trace whose
station code equals the pick's, and whose network, location and channel equal the pick's where the pick names
them. Polarity words: ``U``/``C``/``+``/``up``/``positive`` -> up, ``D``/``-``/``down``/``negative`` -> down,
``K``/``N``/``X``/``?``/``unknown``/``undecidable`` -> unknown, SKHASH's signs ``1``/``-1``/``0`` likewise,
blank -> no label.

Each matched trace becomes the store's 600 samples exactly as a long published trace does (the same 100-sample
taper, 1-45 Hz band-pass and cut, :func:`preprocess.preprocess_long`), so a published-layout trace written as
miniSEED gives the window the store gives. A trace longer than ``MAX_WHOLE_SECONDS`` (a day file) is first
cut to P +- ``SEGMENT_SECONDS`` so that a day is not filtered per pick. Another sampling rate is resampled to
100 Hz with ObsPy's Fourier :meth:`~obspy.core.trace.Trace.resample` without its default Hann window (which
would halve the amplitude at 25 Hz): the spectrum is cut at the new Nyquist frequency, an ideal anti-alias
low-pass whose ringing the 1-45 Hz band-pass then removes.

Nothing is zero-filled: every pick or trace that cannot be used is listed with its reason: no waveform for a
pick, no pick for a trace, pick too near an end, a gap or masked data around P, no vertical channel, two P
picks for one trace, an unreadable file, NaN samples.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from attpd_bench.data.labels import DOWN, INVALID, UNKNOWN, UP
from attpd_bench.data.preprocess import SAMPLING_RATE_HZ, STORE_P_SAMPLE, STORE_SAMPLES, preprocess_long
from attpd_bench.data.reader import TraceChunk, canonical_frame
from attpd_bench.errors import DataError

MAX_WHOLE_SECONDS = 200.0  # longer traces (continuous data) are cut around P first; published ones are shorter
SEGMENT_SECONDS = 60.0  # the cut: P +- 60 s, as long as INSTANCE's event traces
HALF_WINDOW_S = STORE_P_SAMPLE / SAMPLING_RATE_HZ  # the store needs 3 s of clean data each side of P
# a vertical channel: a SEED code ending in Z, or Hi-net's bare U ("up"); a SEED ..U is one of a UVW
# (Galperin) triad, not vertical: --component picks it explicitly
VERTICAL_SUFFIX, VERTICAL_BARE = "Z", ("Z", "U")
PICK_COLUMNS = ("event_id", "network", "station", "location", "channel", "p_time", "polarity")
SAC_MARKERS = ("a", *(f"t{i}" for i in range(10)))
# letters and words, and SKHASH's signed numbers (1 / -1 / 0; "1.0" where a CSV column with blanks was floats)
POLARITY_CODES = {**dict.fromkeys(("u", "c", "+", "up", "positive", "compression", "compressional",
                                   "1", "+1", "1.0"), UP),
                  **dict.fromkeys(("d", "-", "down", "negative", "dilatation", "dilatational", "-1", "-1.0"), DOWN),
                  **dict.fromkeys(("k", "n", "x", "?", "unknown", "undecidable", "0", "0.0", "-0.0"), UNKNOWN)}
QUAKEML_POLARITY = {UP: "positive", DOWN: "negative", UNKNOWN: "undecidable"}


# ------------------------------------------------------------------------------------------ files
def expand_waveform_paths(specs) -> list[Path]:
    """Files from paths, folders (every file inside, recursively) and glob patterns, sorted, each once."""
    files: dict[Path, None] = {}
    for spec in [specs] if isinstance(specs, (str, Path)) else specs:
        spec = str(spec)
        matches = sorted(glob.glob(spec, recursive=True)) if glob.has_magic(spec) else [spec]
        if not matches:
            raise DataError(f"{spec}: --waveforms matches no file")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                files.update(dict.fromkeys(sorted(p for p in path.rglob("*") if p.is_file())))
            elif path.is_file():
                files[path] = None
            else:
                raise DataError(f"{path}: --waveforms file not found")
    if not files:
        raise DataError(f"{specs}: --waveforms names no file")
    return list(files)


def polarity_labels(values) -> np.ndarray:
    """Polarity words or letters -> labels (blank -> INVALID); an unrecognised word raises naming it."""
    out = np.full(len(values), INVALID, dtype=np.int8)
    for i, value in enumerate(values):
        word = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip().lower()
        if word == "":
            continue
        if word not in POLARITY_CODES:
            raise DataError(f"polarity {value!r} not understood; expected U/D/K, +/-, up/down/unknown, "
                            f"positive/negative/undecidable or 1/-1/0")
        out[i] = POLARITY_CODES[word]
    return out


# ------------------------------------------------------------------------------------------ picks
@dataclass
class Picks:
    """P picks (``PICK_COLUMNS``; ``p_time`` in POSIX seconds, ``label`` from the polarity) and, from a
    QuakeML catalogue, its events' origins (SKHASH's catalogue columns) and the catalogue itself."""

    table: pd.DataFrame
    origins: pd.DataFrame | None = None
    catalog: object = None  # obspy Catalog, kept to write the polarities back
    sac_marker: str | None = None  # picks read from the waveforms' SAC headers
    source: str = ""


def read_picks(spec: str | Path) -> Picks:
    spec = str(spec)
    if spec.lower().startswith("sac:"):
        marker = spec[4:].strip().lower()
        if marker not in SAC_MARKERS:
            raise DataError(f"--picks {spec}: unknown SAC marker {marker!r}; expected one of "
                            f"{', '.join('sac:' + m for m in SAC_MARKERS)}")
        return Picks(pd.DataFrame(columns=[*PICK_COLUMNS, "label"]), sac_marker=marker, source=spec)
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"{path}: --picks file not found")
    head = path.read_bytes()[:512].lstrip()
    picks = _quakeml_picks(path) if head.startswith(b"<?xml") or b"quakeml" in head.lower() else _csv_picks(path)
    picks.source = str(path)
    return picks


def _quakeml_picks(path: Path) -> Picks:
    from obspy import read_events

    try:
        catalog = read_events(str(path))
    except Exception as exc:  # ObsPy raises many types for a broken file
        raise DataError(f"{path}: not a readable QuakeML catalogue ({str(exc).splitlines()[0][:200]})") from None
    rows, origins = [], []
    for event in catalog:
        event_id = str(event.resource_id).rstrip("/").split("/")[-1].split("=")[-1]
        origin = event.preferred_origin() or (event.origins[0] if event.origins else None)
        if origin is not None and origin.latitude is not None and origin.depth is not None:
            origins.append({"event_id": event_id, "time": str(origin.time), "latitude": origin.latitude,
                            "longitude": origin.longitude, "depth": origin.depth / 1000.0})
        for pick in event.picks:
            if not (pick.phase_hint or "").upper().startswith("P") or pick.waveform_id is None:
                continue
            wid = pick.waveform_id
            rows.append({"event_id": event_id, "network": wid.network_code or "", "station": wid.station_code or "",
                         "location": wid.location_code or "", "channel": wid.channel_code or "",
                         "p_time": pick.time.timestamp, "polarity": pick.polarity or "",
                         "pick_id": str(pick.resource_id)})
    if not rows:
        raise DataError(f"{path}: the QuakeML catalogue holds no P pick with a waveform id")
    table = pd.DataFrame(rows)
    table["label"] = polarity_labels(table["polarity"].to_numpy())
    return Picks(table, pd.DataFrame(origins) if origins else None, catalog)


def _csv_picks(path: Path) -> Picks:
    from obspy import UTCDateTime

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    if "trace_id" in table:
        parts = table["trace_id"].str.split(".", expand=True)
        if parts.shape[1] != 4:
            raise DataError(f"{path}: column 'trace_id' must read NET.STA.LOC.CHA, got {table['trace_id'].iloc[0]!r}")
        for k, column in enumerate(("network", "station", "location", "channel")):
            table[column] = parts[k].fillna("")
    missing = [c for c in ("station", "p_time") if c not in table]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(repr(c) for c in missing)} (expected trace_id or "
                        f"station, and p_time in UTC)")
    for column in ("network", "location", "channel", "event_id", "polarity"):
        if column not in table:
            table[column] = ""
    table.loc[table["event_id"] == "", "event_id"] = "event"
    times = np.empty(len(table))
    for i, value in enumerate(table["p_time"]):
        try:
            times[i] = UTCDateTime(value).timestamp
        except Exception:
            raise DataError(f"{path}: row {i + 2}, column 'p_time': {value!r} is not a UTC time "
                            f"(e.g. 2016-04-15T07:46:54.74Z)") from None
    table["p_time"] = times
    try:
        table["label"] = polarity_labels(table["polarity"].to_numpy())
    except DataError as exc:
        raise DataError(f"{path}: column 'polarity': {exc}") from None
    return Picks(table[[*PICK_COLUMNS, "label"]].reset_index(drop=True))


# ------------------------------------------------------------------------------------------ stations
def read_stations(path: Path) -> pd.DataFrame:
    """Station coordinates (network, station, location, channel, latitude, longitude, elevation in m) from
    StationXML or a CSV of those columns; one row per channel (StationXML) or per row (CSV)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: --stations file not found")
    head = path.read_bytes()[:512].lstrip()
    if head.startswith(b"<?xml") or b"FDSNStationXML" in head:
        from obspy import read_inventory

        try:
            inventory = read_inventory(str(path))
        except Exception as exc:
            raise DataError(f"{path}: not a readable StationXML file ({str(exc).splitlines()[0][:200]})") from None
        rows = [{"network": net.code, "station": sta.code, "location": cha.location_code, "channel": cha.code,
                 "latitude": cha.latitude, "longitude": cha.longitude, "elevation": cha.elevation}
                for net in inventory for sta in net for cha in sta]
        rows += [{"network": net.code, "station": sta.code, "location": "", "channel": "",
                  "latitude": sta.latitude, "longitude": sta.longitude, "elevation": sta.elevation}
                 for net in inventory for sta in net if not sta.channels]
        if not rows:
            raise DataError(f"{path}: the StationXML file holds no station")
        return pd.DataFrame(rows)
    try:
        table = pd.read_csv(path, dtype={c: str for c in ("network", "station", "location", "channel")},
                            keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV or StationXML file ({exc})") from None
    missing = [c for c in ("station", "latitude", "longitude") if c not in table]
    if missing:
        raise DataError(f"{path}: --stations is missing column(s) {', '.join(repr(c) for c in missing)} (expected "
                        f"network, station, location, channel, latitude, longitude, elevation)")
    for column, blank in (("network", ""), ("location", ""), ("channel", ""), ("elevation", 0.0)):
        if column not in table:
            table[column] = blank
    return table[["network", "station", "location", "channel", "latitude", "longitude", "elevation"]]


# ------------------------------------------------------------------------------------------ the reader
@dataclass
class _Trace:
    """A header-only view of one trace of one file."""

    file: int
    index: int  # position in the file's stream
    network: str
    station: str
    location: str
    channel: str
    start: float
    end: float
    sampling_rate: float
    coordinates: tuple[float, float, float] | None
    marker_time: float | None
    marker_label: int
    event_id: str


@dataclass
class RecordingsReader:
    """The recordings reader: the same interface as a published layout's reader (``canonical``, ``chunks``,
    ``labels_required``), so `attpd data prepare` and `attpd predict` take a user's files like a layout."""

    waveforms: list[Path]
    picks: Picks
    component: str | None = None
    dataset: str = "recordings"
    labels_required: bool = True
    canonical: pd.DataFrame = field(init=False)
    skipped_at_scan: list[tuple[str, str]] = field(init=False)

    def __post_init__(self):
        self.waveforms = expand_waveform_paths(self.waveforms)
        self.skipped_at_scan = []
        traces = self._scan()
        self._match(traces)

    def __len__(self) -> int:
        return len(self.canonical)

    def __str__(self) -> str:
        files = ", ".join(str(p) for p in self.waveforms[:3]) + (" ..." if len(self.waveforms) > 3 else "")
        return f"{len(self.waveforms)} waveform files ({files}) with picks {self.picks.source}"

    @property
    def source_split(self):
        return None

    # -------------------------------------------------------------- what SKHASH needs, from the user's files
    def attach_geometry(self, *, stations: Path | None = None) -> None:
        """Station coordinates (``stations``: StationXML or CSV, else the SAC headers already read) and the
        QuakeML catalogue's origins onto ``canonical``, where :func:`sites.geometry` finds them."""
        meta = self.canonical
        if stations is not None:
            table = read_stations(stations)
            found = np.full(len(meta), -1)
            for level in (("network", "station", "location", "channel"), ("network", "station"), ("station",)):
                keys = table[list(level)].astype(str).agg(".".join, axis=1)
                first = pd.Series(np.arange(len(table)), index=keys)
                first = first[~first.index.duplicated()]
                mine = pd.DataFrame({"network": meta["station_network_code"], "station": meta["station_code"],
                                     "location": meta["station_location_code"].replace("--", ""),
                                     "channel": meta["station_channel_code"]})[list(level)].astype(str).agg(
                    ".".join, axis=1)
                hit = mine.map(first).fillna(-1).astype(int).to_numpy()
                found = np.where(found < 0, hit, found)
            if (found < 0).any():
                raise DataError(f"{stations}: --stations has no row for station "
                                f"{meta['trace_id'].iloc[int(np.argmax(found < 0))]} ({int((found < 0).sum())} "
                                f"traces unmatched)")
            for column, source in (("station_latitude_deg", "latitude"), ("station_longitude_deg", "longitude"),
                                   ("station_elevation_m", "elevation")):
                meta[column] = table[source].to_numpy(dtype=float)[found]
        origins = self.picks.origins
        if origins is not None and len(meta):
            by_event = origins.drop_duplicates("event_id").set_index("event_id")
            events = meta["source_id"].astype(str)
            if events.isin(by_event.index).all():
                meta["source_origin_time"] = events.map(by_event["time"]).to_numpy()
                meta["source_latitude_deg"] = events.map(by_event["latitude"]).to_numpy(dtype=float)
                meta["source_longitude_deg"] = events.map(by_event["longitude"]).to_numpy(dtype=float)
                meta["source_depth_km"] = events.map(by_event["depth"]).to_numpy(dtype=float)

    # -------------------------------------------------------------- polarities back into QuakeML
    def write_quakeml(self, path: Path, predicted: pd.DataFrame | None, *, method: str) -> None:
        """The picks' catalogue (the input's QuakeML, else one built from the picks) with each predicted P
        pick's ``polarity`` set (positive / negative / undecidable) and its probabilities in a comment."""
        from obspy import UTCDateTime
        from obspy.core.event import Catalog, Comment, Event, Pick, ResourceIdentifier, WaveformStreamID

        table = self.pick_table
        if self.picks.catalog is not None:
            catalog = self.picks.catalog.copy()
            by_id = {str(p.resource_id): p for event in catalog for p in event.picks}
            pick_of = lambda i: by_id[table["pick_id"].iloc[i]]  # noqa: E731
        else:
            catalog, events, made = Catalog(), {}, {}
            for i, row in enumerate(table.itertuples(index=False)):
                event = events.get(row.event_id)
                if event is None:
                    event = events[row.event_id] = Event(resource_id=ResourceIdentifier(f"smi:local/{row.event_id}"))
                    catalog.append(event)
                pick = Pick(time=UTCDateTime(row.p_time), phase_hint="P", waveform_id=WaveformStreamID(
                    network_code=row.network, station_code=row.station, location_code=row.location,
                    channel_code=row.channel))
                event.picks.append(pick)
                made[i] = pick
            pick_of = made.__getitem__  # noqa: E731
        if predicted is not None:
            for row in predicted.itertuples(index=False):
                pick = pick_of(int(row.pick_index))
                label = int(np.argmax([row.p_up, row.p_down, row.p_unknown]))
                pick.polarity = QUAKEML_POLARITY[label]
                pick.comments.append(Comment(text=f"attpd-bench {method}: p_up={row.p_up:.4f} "
                                                  f"p_down={row.p_down:.4f} p_unknown={row.p_unknown:.4f}"))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.partial")
        catalog.write(str(tmp), format="QUAKEML")
        tmp.replace(path)

    # -------------------------------------------------------------- pass 1: headers
    def _read(self, path: Path, **kwargs):
        """ObsPy's read, trying the format of the last file first: its autodetection costs more than reading a
        short file (a folder of recordings is usually of one format)."""
        from obspy import read

        if getattr(self, "_format", None) is not None:
            try:
                return read(str(path), format=self._format, **kwargs)
            except Exception:  # another format, or unreadable: autodetect (which names the problem)
                pass
        stream = read(str(path), **kwargs)
        self._format = stream[0].stats._format if len(stream) else None
        return stream

    def _scan(self) -> list[_Trace]:
        traces: list[_Trace] = []
        marker = self.picks.sac_marker
        for k, path in enumerate(self.waveforms):
            try:
                stream = self._read(path, headonly=True)
            except Exception as exc:  # ObsPy raises many types for a file it cannot read
                self.skipped_at_scan.append((str(path), f"unreadable file ({str(exc).splitlines()[0][:120]})"))
                continue
            vertical = [i for i, tr in enumerate(stream) if self._is_vertical(tr.stats.channel)]
            if not vertical:
                ids = ", ".join(sorted({tr.id for tr in stream})) or "no trace"
                self.skipped_at_scan.append((str(path), f"no vertical channel ({ids})"))
                continue
            for i in vertical:
                s = stream[i].stats
                sac = s.get("sac", {})
                coords = (float(sac["stla"]), float(sac["stlo"]), float(sac.get("stel", 0.0) or 0.0)) \
                    if "stla" in sac and "stlo" in sac else None
                marker_time, marker_label, event_id = None, INVALID, ""
                if marker is not None and marker in sac:
                    marker_time = (s.starttime + float(sac[marker]) - float(sac.get("b", 0.0))).timestamp
                    code = str(sac.get("k" + marker, "") or "").strip()
                    # SAC's ka: onset (I/E), phase (P), polarity letter, weight: the letter read by the one table
                    marker_label = POLARITY_CODES.get(code[2:3].lower() if len(code) >= 3 else "", INVALID)
                if marker is not None:
                    event_id = str(sac.get("kevnm", "") or "").strip() or (
                        str(s.starttime + float(sac["o"]) - float(sac.get("b", 0.0))) if "o" in sac else "event")
                traces.append(_Trace(k, i, s.network, s.station, s.location, s.channel, s.starttime.timestamp,
                                     s.endtime.timestamp, float(s.sampling_rate), coords, marker_time,
                                     marker_label, event_id))
        return traces

    def _is_vertical(self, channel: str) -> bool:
        if self.component is not None:
            return channel == self.component or channel[-1:] == self.component
        channel = channel.strip().upper()
        return channel in VERTICAL_BARE or channel.endswith(VERTICAL_SUFFIX)

    # -------------------------------------------------------------- matching picks to traces
    def _match(self, traces: list[_Trace]) -> None:
        picks = self._pick_table(traces)
        by_station: dict[str, list[int]] = {}
        for j, tr in enumerate(traces):
            by_station.setdefault(tr.station, []).append(j)
        rows, used = [], set()
        duplicate = picks.duplicated(["event_id", "network", "station", "location", "channel"], keep=False)
        for i, pick in enumerate(picks.itertuples(index=False)):
            name = f"{pick.event_id}:{'.'.join((pick.network, pick.station, pick.location, pick.channel))}"
            candidates = [j for j in by_station.get(pick.station, []) if self._codes_match(pick, traces[j])]
            if not candidates:
                self.skipped_at_scan.append((name, "no waveform for this pick (no vertical trace of the station)"))
                continue
            used.update(candidates)
            if duplicate.iloc[i]:
                self.skipped_at_scan.append((name, "two P picks for one trace in one event"))
                continue
            inside = [j for j in candidates if traces[j].start + HALF_WINDOW_S <= pick.p_time
                      <= traces[j].end - HALF_WINDOW_S]
            if len({(traces[j].network, traces[j].location, traces[j].channel) for j in inside}) > 1:
                self.skipped_at_scan.append((name, "the pick matches several channels; name the channel in the "
                                                   "picks or choose one with --component"))
                continue
            if not inside:
                overlapping = [j for j in candidates if traces[j].start <= pick.p_time <= traces[j].end]
                reason = ("P pick too near an end of the trace (needs 3 s each side of P)"
                          if len(overlapping) == 1 else
                          "a gap or masked data around P" if overlapping or self._between(pick.p_time, traces,
                                                                                        candidates)
                          else "P pick outside the recorded time span")
                self.skipped_at_scan.append((name, reason))
                continue
            if len(inside) > 1:  # the same channel twice (overlapping files): a gap-free copy is as good
                inside = inside[:1]
            tr = traces[inside[0]]
            rows.append({"pick": i, "trace": inside[0], "name": name, "event_id": pick.event_id,
                         "network": tr.network, "station": tr.station, "location": tr.location,
                         "channel": tr.channel, "p_time": pick.p_time, "label": pick.label,
                         "coordinates": tr.coordinates})
        for j, tr in enumerate(traces):
            if j not in used:
                self.skipped_at_scan.append((f"{self.waveforms[tr.file]}:{tr.network}.{tr.station}.{tr.location}."
                                             f"{tr.channel}", "no pick for this trace"))
        self._traces = traces
        self._rows = pd.DataFrame(rows, columns=["pick", "trace", "name", "event_id", "network", "station",
                                                 "location", "channel", "p_time", "label", "coordinates"])
        self._rows = self._rows.sort_values(["trace", "pick"], kind="stable").reset_index(drop=True)
        self.labels = self._rows["label"].to_numpy(np.int8)
        meta = pd.DataFrame({"source_origin_time": ""}, index=range(len(self._rows)))
        from obspy import UTCDateTime

        self.canonical = canonical_frame(
            meta, source_trace_name=self._rows["name"].to_numpy(str), source_id=self._rows["event_id"].to_numpy(str),
            network=self._rows["network"].to_numpy(str), station=self._rows["station"].to_numpy(str),
            labels=self.labels, snr_db=np.full(len(self._rows), np.nan),
            location=self._rows["location"].to_numpy(str), channel=self._rows["channel"].to_numpy(str))
        self.canonical["trace_id"] = (self._rows["network"] + "." + self._rows["station"] + "." + self._rows["location"]
                                      + "." + self._rows["channel"]).to_numpy(str)
        self.canonical["p_time"] = [str(UTCDateTime(t)) for t in self._rows["p_time"]]
        self.canonical["pick_index"] = self._rows["pick"].to_numpy()
        coords = self._rows["coordinates"]
        if len(coords) and coords.notna().all():
            xyz = np.array(coords.tolist(), dtype=float)
            self.canonical["station_latitude_deg"] = xyz[:, 0]
            self.canonical["station_longitude_deg"] = xyz[:, 1]
            self.canonical["station_elevation_m"] = xyz[:, 2]
        self.pick_table = picks

    def _pick_table(self, traces: list[_Trace]) -> pd.DataFrame:
        if self.picks.sac_marker is None:
            return self.picks.table
        rows = [{"event_id": tr.event_id, "network": tr.network, "station": tr.station, "location": tr.location,
                 "channel": tr.channel, "p_time": tr.marker_time, "polarity": "", "label": tr.marker_label}
                for tr in traces if tr.marker_time is not None]
        if not rows:
            raise DataError(f"--picks sac:{self.picks.sac_marker}: no waveform file has the SAC header "
                            f"'{self.picks.sac_marker}' set")
        return pd.DataFrame(rows)

    @staticmethod
    def _codes_match(pick, tr: _Trace) -> bool:
        return ((not pick.network or pick.network == tr.network) and (not pick.location or pick.location == tr.location)
                and (not pick.channel or pick.channel == tr.channel))

    @staticmethod
    def _between(time: float, traces: list[_Trace], candidates: list[int]) -> bool:
        """P falls between two pieces of one channel's record (a gap), or within 3 s of one's edge."""
        return any(traces[j].start - HALF_WINDOW_S < time < traces[j].end + HALF_WINDOW_S for j in candidates) \
            or (any(traces[j].end < time for j in candidates) and any(traces[j].start > time for j in candidates))

    # -------------------------------------------------------------- pass 2: waveforms, one file at a time
    def chunks(self, chunk_size: int = 512) -> Iterator[TraceChunk]:
        from obspy import UTCDateTime

        pending_skips = list(self.skipped_at_scan)
        windows, ok_rows, skipped = [], [], []
        rows = self._rows
        by_file = rows.groupby(rows["trace"].map(lambda j: self._traces[j].file), sort=True)
        for file_index, group in by_file:
            path = self.waveforms[file_index]
            try:
                stream = self._read(path)
            except Exception as exc:
                skipped.extend((name, f"unreadable file ({str(exc).splitlines()[0][:120]})")
                               for name in group["name"])
                continue
            for row in group.itertuples():
                trace = stream[self._traces[row.trace].index]
                window, reason = _window(trace, UTCDateTime(row.p_time))
                if reason:
                    skipped.append((row.name, reason))
                    continue
                if self.labels_required and row.label == INVALID:
                    skipped.append((row.name, "no polarity label on the pick"))
                    continue
                windows.append(window)
                ok_rows.append(row.Index)
                if len(windows) == chunk_size:
                    yield self._emit(windows, ok_rows, pending_skips + skipped)
                    windows, ok_rows, skipped, pending_skips = [], [], [], []
        if windows or skipped or pending_skips:
            yield self._emit(windows, ok_rows, pending_skips + skipped)

    def _emit(self, windows, rows, skipped) -> TraceChunk:
        data = np.stack(windows) if windows else np.empty((0, STORE_SAMPLES), dtype=np.float32)
        return TraceChunk(data, self.canonical.iloc[rows].reset_index(drop=True), skipped)


def _window(trace, p_time) -> tuple[np.ndarray | None, str]:
    """The store's 600 samples of one ObsPy trace around ``p_time``, or the reason it has none."""
    data = trace.data
    if np.ma.isMaskedArray(data) and np.ma.getmaskarray(data).any():
        return None, "a gap or masked data around P"
    if trace.stats.endtime - trace.stats.starttime > MAX_WHOLE_SECONDS:
        trace = trace.slice(p_time - SEGMENT_SECONDS, p_time + SEGMENT_SECONDS)
    else:
        trace = trace.copy()
    trace.data = np.asarray(trace.data, dtype=np.float64)
    if not np.isfinite(trace.data).all():
        return None, "NaN or inf samples in the waveform"
    # raw counts carry an offset and a drift, which the original taper would turn into a transient larger than
    # the onset: removed first (least-squares line, ObsPy's detrend), as ObsPy users expect. The published
    # layouts keep the original processing exactly (their readers never come here).
    trace.detrend("linear")
    if abs(trace.stats.sampling_rate - SAMPLING_RATE_HZ) > 1e-6:
        trace.resample(SAMPLING_RATE_HZ, window=None)
    p_sample = int(round((p_time - trace.stats.starttime) * SAMPLING_RATE_HZ))
    if p_sample - STORE_P_SAMPLE < 0 or p_sample + STORE_SAMPLES - STORE_P_SAMPLE > trace.stats.npts:
        return None, "P pick too near an end of the trace (needs 3 s each side of P)"
    return preprocess_long(trace.data[None, :], np.array([p_sample]))[0], ""
