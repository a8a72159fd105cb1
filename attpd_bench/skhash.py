"""SKHASH (the USGS successor of HASH for focal mechanisms) in an environment of its own.

SKHASH 1.1.5 pins ``numpy<2`` and TensorFlow 2.21 needs ``numpy>=2``: the two cannot share an environment. SKHASH
is a program driven by a control file, so the suite runs it as a subprocess of a virtual environment it creates
once (about 180 MB; seconds with a warm pip cache) under ``~/.cache/attpd-bench/`` (``ATTPD_SKHASH_HOME``
overrides). Nothing of SKHASH is imported into the suite's own process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench.data.labels import DOWN, UP
from attpd_bench.errors import ConfigError, DataError

SKHASH_VERSION = "1.1.5"
COMPLETE = ".attpd-complete"  # written last into the environment
BUILDING = ".attpd-building"  # written first: a folder holding it (and not COMPLETE) is our interrupted build


def home() -> Path:
    default = Path.home() / ".cache" / "attpd-bench" / f"skhash-{SKHASH_VERSION}"
    return Path(os.environ.get("ATTPD_SKHASH_HOME", default))


def python() -> Path:
    """The Python of SKHASH's environment, created if missing. A marker written last tells a complete one; a
    lock keeps two processes from building it at once."""
    import fcntl

    venv = home()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / COMPLETE).is_file():
            if venv.exists() and any(venv.iterdir()) and not (venv / BUILDING).is_file():
                raise ConfigError(f"{venv}: ATTPD_SKHASH_HOME names a folder the suite did not make (no {COMPLETE}); "
                                  f"refusing to replace it: point ATTPD_SKHASH_HOME at a new folder")
            shutil.rmtree(venv, ignore_errors=True)  # a build of ours that was interrupted
            venv.mkdir(parents=True)
            (venv / BUILDING).write_text(SKHASH_VERSION)
            for command in ([sys.executable, "-m", "venv", "--clear", str(venv)],
                            [str(venv / "bin" / "pip"), "install", "--quiet", f"SKHASH=={SKHASH_VERSION}"]):
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    raise ConfigError(f"cannot build SKHASH {SKHASH_VERSION}'s environment in {venv}: `"
                                      f"{' '.join(command[-3:])}` failed: "
                                      f"{(done.stderr.strip().splitlines() or ['no message'])[-1][:300]}")
                (venv / BUILDING).write_text(SKHASH_VERSION)  # venv --clear empties the folder
            (venv / COMPLETE).write_text(SKHASH_VERSION)
    return venv / "bin" / "python"


# ------------------------------------------------------------------------------------------ input set
POLARITY_FILE, STATION_FILE, CATALOG_FILE = "polarities.csv", "stations.csv", "catalog.csv"
VELOCITY_FILE, CONTROL_FILE = "velocity_model.txt", "control.txt"
MECHANISM_FILE, POLARITY_INFO_FILE = "skhash_mechanisms.csv", "polarity_info.csv"
MATCH_COLUMNS = ("network", "station", "location", "channel")  # SKHASH's default require_*_match
POLARITY_COLUMNS = ("event_id", *MATCH_COLUMNS, "p_polarity")
STATION_COLUMNS = (*MATCH_COLUMNS, "latitude", "longitude", "elevation")
CATALOG_COLUMNS = ("event_id", "time", "latitude", "longitude", "depth")
#: SKHASH's default quality gates, written into every control file so that a reader sees them.
QUALITY_GATES = {"npolmin": 8, "max_agap": 90, "max_pgap": 60, "delmax": 120, "min_polarity_weight": 0.1}
CONTROL_HEADER = "# written by attpd-bench"
DEPTH_STEP_KM = 3  # SKHASH's take-off table: a row every 3 km of source depth (its default step)


def write_inputs(folder: Path, polarities: pd.DataFrame, stations: pd.DataFrame, catalog: pd.DataFrame,
                 velocity_model: str) -> Path:
    """SKHASH's complete input set in ``folder``: polarity, station and catalogue files, the velocity model
    (the text of a ``depth,vp`` file) and ``control.txt`` naming them with absolute paths, so that
    ``SKHASH folder/control.txt`` reruns it from anywhere (SKHASH splits a value at spaces: under a path with a
    space the names are relative, and SKHASH must run from the folder). Returns the control file."""
    folder = Path(folder).resolve()
    named = (lambda name: name) if any(c.isspace() for c in str(folder)) else (lambda name: folder / name)
    folder.mkdir(parents=True, exist_ok=True)
    for frame, columns, name in ((polarities, POLARITY_COLUMNS, POLARITY_FILE),
                                 (stations, STATION_COLUMNS, STATION_FILE),
                                 (catalog, CATALOG_COLUMNS, CATALOG_FILE)):
        write_atomically(folder / name, frame.loc[:, list(columns)].to_csv(index=False))
    write_atomically(folder / VELOCITY_FILE, velocity_model)
    deepest = float(catalog["depth"].max()) if len(catalog) else 0.0
    depth_rows = int(np.ceil((deepest + 1) / DEPTH_STEP_KM)) + 1
    settings = {
        "input_format": "skhash", "fpfile": named(POLARITY_FILE), "stfile": named(STATION_FILE),
        "catfile": named(CATALOG_FILE), "vmodel_paths": named(VELOCITY_FILE),
        "outfile1": named(MECHANISM_FILE), "outfile_pol_info": named(POLARITY_INFO_FILE),
        **QUALITY_GATES,
        # the table must reach the deepest event (SKHASH's default stops at 39 km)
        "look_dep": f"0 {DEPTH_STEP_KM * (depth_rows - 1)} {DEPTH_STEP_KM}", "nd0": depth_rows,
    }
    rerun = f"attpd skhash {folder / CONTROL_FILE}" if named(CONTROL_FILE) != CONTROL_FILE else \
        f"cd {folder} && attpd skhash {CONTROL_FILE}"
    lines = [f"{CONTROL_HEADER} for SKHASH {SKHASH_VERSION}; rerun with: {rerun}"]
    for key, value in settings.items():
        lines += [f"${key}", str(value)]
    write_atomically(folder / CONTROL_FILE, "\n".join(lines) + "\n")  # last: it marks a complete set
    return folder / CONTROL_FILE


def written_by_us(folder: Path) -> bool:
    """Whether ``folder`` holds a SKHASH input set this suite wrote (its control file says so)."""
    control = Path(folder) / CONTROL_FILE
    try:
        return control.read_text().startswith(CONTROL_HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` under a temporary name, renamed when complete: never a half-written file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def rerun(control: Path) -> int:
    """SKHASH on a control file the user names (`attpd skhash`), its output to the console; its exit code."""
    control = Path(control)
    if not control.is_file():
        raise DataError(f"{control}: control file not found")
    program = python().parent / "SKHASH"
    return subprocess.run([str(program), str(control.resolve())], cwd=control.resolve().parent).returncode


def run(control: Path) -> pd.DataFrame:
    """Run SKHASH on ``control`` in its own environment; one row per event, its preferred solution (SKHASH
    writes a row per solution when it finds several: the most probable one is kept)."""
    control = Path(control).resolve()
    program = python().parent / "SKHASH"
    for stale in (MECHANISM_FILE, POLARITY_INFO_FILE):  # never read (or log) a previous run's answer
        (control.parent / stale).unlink(missing_ok=True)
    done = subprocess.run([str(program), str(control)], capture_output=True, text=True, cwd=control.parent)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"{control}: SKHASH failed: {last[:300]}")
    out = control.parent / MECHANISM_FILE
    if not out.is_file():  # SKHASH writes nothing when no event qualifies
        return pd.DataFrame(columns=["event_id", "strike", "dip", "rake", "quality"])
    mechanisms = pd.read_csv(out, dtype={"event_id": str})
    best = mechanisms.sort_values(["event_id", "prob_mech"], ascending=[True, False], kind="stable")
    return best.drop_duplicates("event_id").reset_index(drop=True)


# ------------------------------------------------------------------------------------------ geometry
BLANK_CODE = "--"  # SKHASH's (and FDSN's) blank location; also written for a channel a layout never names
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


def match_codes(meta: pd.DataFrame) -> pd.DataFrame:
    """network, station, location, channel of each trace, blanks as ``--`` (SKHASH reads a blank as NaN)."""
    codes = pd.DataFrame({"network": meta["station_network_code"].astype(str).to_numpy(),
                          "station": meta["station_code"].astype(str).to_numpy(),
                          "location": meta["station_location_code"].astype(str).to_numpy(),
                          "channel": meta["station_channel_code"].astype(str).to_numpy()})
    return codes.replace({"": BLANK_CODE, "nan": BLANK_CODE})


def polarity_table(meta: pd.DataFrame, weight: np.ndarray) -> pd.DataFrame:
    """SKHASH's polarity rows of the traces with a non-zero weight (positive = up, |weight| <= 1)."""
    keep = np.asarray(weight) != 0
    table = pd.concat([pd.DataFrame({"event_id": meta["source_id"].astype(str).to_numpy()}),
                       match_codes(meta)], axis=1)
    table["p_polarity"] = np.round(np.asarray(weight, dtype=np.float64), 4)
    return table[keep].reset_index(drop=True)


def model_weights(probabilities: np.ndarray, min_probability: float = 0.0) -> np.ndarray:
    """SKHASH weights of a model's predictions: +p_up for up, -p_down for down, 0 for unknown or for a
    prediction less probable than ``min_probability``: an unsure pick counts less, or not at all."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    sure = probabilities.max(axis=1) >= min_probability
    return np.select([(predicted == UP) & sure, (predicted == DOWN) & sure],
                     [probabilities[:, UP], -probabilities[:, DOWN]], 0.0)


def label_weights(labels: np.ndarray) -> np.ndarray:
    """+1 up, -1 down, 0 unknown (or unlabelled)."""
    labels = np.asarray(labels)
    return np.select([labels == UP, labels == DOWN], [1.0, -1.0], 0.0)


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
        found["stations"] = _read_user_table(stations, STATION_COLUMNS, "--stations")
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
    from attpd_bench.data.velocity import MODELS

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
    from attpd_bench.data.velocity import VelocityModel

    marker = truth_path.parent / SYNTH_MARKER
    try:
        spec = json.loads(marker.read_text())["velocity_model"]
    except (OSError, ValueError, KeyError):
        raise DataError(f"{marker}: no velocity model of the synthetic region beside {truth_path.name}; give "
                        f"{GEOMETRY_OPTIONS['velocity_model']}") from None
    return VelocityModel(**spec).skhash_text()
