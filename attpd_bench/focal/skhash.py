"""SKHASH (the USGS successor of HASH for focal mechanisms) in an environment of its own.

SKHASH 1.1.5 pins ``numpy<2`` and TensorFlow 2.21 needs ``numpy>=2``: the two cannot share an environment. SKHASH
is a program driven by a control file, so the suite runs it as a subprocess of a virtual environment it creates
once (about 180 MB; seconds with a warm pip cache) under ``~/.cache/attpd-bench/`` (``ATTPD_SKHASH_HOME``
overrides). Nothing of SKHASH is imported into the suite's own process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench.errors import ConfigError, DataError
from attpd_bench.outputs import write_atomically

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
VELOCITY_FILE, CONTROL_FILE, REVERSAL_FILE = "velocity_model.txt", "control.txt", "reversals.csv"
MECHANISM_FILE, POLARITY_INFO_FILE = "skhash_mechanisms.csv", "polarity_info.csv"
ORIGIN_TIME_FILE = "origin_times.csv"  # SKHASH's catalogue times to the microsecond (see LAUNCHER)
LOG_FILE = "skhash.log"  # SKHASH's printout: why it skipped an event
MATCH_COLUMNS = ("network", "station", "location", "channel")  # SKHASH's default require_*_match
POLARITY_COLUMNS = ("event_id", *MATCH_COLUMNS, "p_polarity")
STATION_COLUMNS = (*MATCH_COLUMNS, "latitude", "longitude", "elevation")
CATALOG_COLUMNS = ("event_id", "time", "latitude", "longitude", "depth")
#: SKHASH's default quality gates, written into every control file so that a reader sees them.
QUALITY_GATES = {"npolmin": 8, "max_agap": 90, "max_pgap": 60, "delmax": 120, "min_polarity_weight": 0.1}
CONTROL_HEADER = "# written by attpd-bench"
DEPTH_STEP_KM = 3  # SKHASH's take-off table: a row every 3 km of source depth (its default step)


def write_inputs(folder: Path, polarities: pd.DataFrame, stations: pd.DataFrame, catalog: pd.DataFrame,
                 velocity_model: str, *, reversals: str | None = None) -> Path:
    """SKHASH's complete input set in ``folder``: polarity, station and catalogue files, the velocity model
    (the text of a ``depth,vp`` file) and ``control.txt`` naming them with absolute paths, so that
    ``attpd skhash folder/control.txt`` reruns it from anywhere (SKHASH splits a value at spaces: under a path with a
    space the names are relative, and SKHASH must run from the folder). ``reversals``: the text of a station
    polarity reversal file (SKHASH's CSV format), applied by SKHASH as ``$plfile``. Returns the control file."""
    folder = Path(folder).resolve()
    named = (lambda name: name) if any(c.isspace() for c in str(folder)) else (lambda name: folder / name)
    folder.mkdir(parents=True, exist_ok=True)
    for frame, columns, name in ((polarities, POLARITY_COLUMNS, POLARITY_FILE),
                                 (stations, STATION_COLUMNS, STATION_FILE),
                                 (catalog, CATALOG_COLUMNS, CATALOG_FILE)):
        write_atomically(folder / name, frame.loc[:, list(columns)].to_csv(index=False))
    write_atomically(folder / VELOCITY_FILE, velocity_model)
    (folder / REVERSAL_FILE).unlink(missing_ok=True)
    if reversals is not None:
        write_atomically(folder / REVERSAL_FILE, reversals)
    deepest = float(catalog["depth"].max()) if len(catalog) else 0.0
    depth_rows = int(np.ceil((deepest + 1) / DEPTH_STEP_KM)) + 1
    settings = {
        "input_format": "skhash", "fpfile": named(POLARITY_FILE), "stfile": named(STATION_FILE),
        "catfile": named(CATALOG_FILE), "vmodel_paths": named(VELOCITY_FILE),
        **({"plfile": named(REVERSAL_FILE)} if reversals is not None else {}),
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


#: SKHASH, started so that each event draws its Monte Carlo trials (source depths, take-off and azimuth
#: perturbations) and its choice among ``maxout`` acceptable mechanisms from a random stream of its own. SKHASH 1.1.5
#: seeds one stream per process (``functions/fun.py``: ``rng = default_rng(123)``) and events draw from it in turn,
#: so an event's mechanism depended on every event before it: flipping a polarity in one event moved the
#: mechanisms of the events after it (issue 38, item 6). Here the stream is seeded again before each event from
#: SKHASH's own seed and the event's id, which keeps SKHASH's reproducibility and makes each event independent.
#: SKHASH also writes origin times to the second (``out.write_outfile1``: ``%X``) where its input gives hundredths
#: (HASH's phase files): its catalogue's times are written whole to ``ORIGIN_TIME_FILE`` beside its mechanisms.
LAUNCHER = """
import os, sys, zlib
import numpy as np
from SKHASH import SKHASH as program
import functions.fun as fun
import functions.out as out

solve, create_outfile1 = program.compute_mech.compute_mech, out.create_outfile1

def solve_seeded(event_x, num_events, event_id, *args):
    fun.rng = np.random.default_rng([123, zlib.crc32(str(event_id).encode())])
    return solve(event_x, num_events, event_id, *args)

def create_outfile1_and_origin_times(outfile1, cat_df, pol_df):
    if 'origin_DateTime' in cat_df and 'event_id' in cat_df:
        times = cat_df[['event_id']].assign(time=cat_df['origin_DateTime'].dt.strftime('%Y-%m-%dT%H:%M:%S.%f'))
        times.to_csv(os.path.join(os.path.dirname(os.path.abspath(outfile1)), '{origin_times}'), index=False)
    return create_outfile1(outfile1, cat_df, pol_df)

program.compute_mech.compute_mech = solve_seeded
out.create_outfile1 = create_outfile1_and_origin_times
sys.argv = ["SKHASH", *sys.argv[1:]]
sys.exit(program.main())
"""


def _command(control: Path) -> list[str]:
    """The command that runs SKHASH on ``control`` (see ``LAUNCHER``)."""
    return [str(python()), "-c", LAUNCHER.replace("{origin_times}", ORIGIN_TIME_FILE), str(control)]


def rerun(control: Path) -> int:
    """SKHASH on a control file the user names (`attpd skhash`), its output to the console; its exit code."""
    control = Path(control)
    if not control.is_file():
        raise DataError(f"{control}: control file not found")
    return subprocess.run(_command(control.resolve()), cwd=control.resolve().parent).returncode


def run(control: Path) -> pd.DataFrame:
    """Run SKHASH on ``control`` in its own environment; one row per event, its preferred solution (SKHASH
    writes a row per solution when it finds several: the most probable one is kept)."""
    control = Path(control).resolve()
    for stale in (MECHANISM_FILE, POLARITY_INFO_FILE, LOG_FILE, ORIGIN_TIME_FILE):  # never read a previous answer
        (control.parent / stale).unlink(missing_ok=True)
    done = subprocess.run(_command(control), capture_output=True, text=True, cwd=control.parent)
    write_atomically(control.parent / LOG_FILE, done.stdout)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"{control}: SKHASH failed: {last[:300]}")
    out = control.parent / MECHANISM_FILE
    if not out.is_file():  # SKHASH writes nothing when no event qualifies
        return pd.DataFrame(columns=["event_id", "strike", "dip", "rake", "quality"])
    mechanisms = pd.read_csv(out, dtype={"event_id": str})
    times = control.parent / ORIGIN_TIME_FILE
    if "time" in mechanisms and times.is_file():  # SKHASH's whole seconds -> its catalogue's own times
        precise = pd.read_csv(times, dtype={"event_id": str, "time": str}).drop_duplicates("event_id")
        mechanisms["time"] = mechanisms["event_id"].map(precise.set_index("event_id")["time"]).fillna(
            mechanisms["time"])
    best = mechanisms.sort_values(["event_id", "prob_mech"], ascending=[True, False], kind="stable")
    return best.drop_duplicates("event_id").reset_index(drop=True)


_EVENT_LINE = re.compile(r"^\d+ / \d+\s+\((?P<event>.+)\)\s*$")  # "15 / 98<TAB>(uw61000195)"
_SKIP_LINE = re.compile(r"^\s*Maximum (?P<what>azimuthal|takeoff angle) gap \((?P<gap>[\d.]+)\) > "
                        r"(?P<gate>max_[ap]gap) \((?P<limit>[\d.]+)\)\. Skipping\.")


def skip_reasons(folder: Path) -> dict[str, str]:
    """Why SKHASH's last run in ``folder`` gave an event with enough polarities no mechanism, read from its log
    (SKHASH 1.1.5's ``compute_mech`` prints the gap gate an event fails): {event_id: "takeoff gap 67.2 > max_pgap
    60"}. Empty when there is no log."""
    log = Path(folder) / LOG_FILE
    if not log.is_file():
        return {}
    reasons, event = {}, None
    for line in log.read_text().splitlines():
        if (start := _EVENT_LINE.match(line)) is not None:
            event = start["event"]
        elif event is not None and (skip := _SKIP_LINE.match(line)) is not None:
            what = "azimuthal" if skip["what"] == "azimuthal" else "takeoff"
            reasons[event] = f"{what} gap {float(skip['gap']):.1f} > {skip['gate']} {float(skip['limit']):g}"
    return reasons


# ------------------------------------------------------------------------------------------ a user's input set
#: control-file settings that name input files (relative paths are relative to where SKHASH runs, as in SKHASH)
INPUT_PATH_SETTINGS = ("stfile", "plfile", "fpfile", "impfile", "conpfile", "dlpfile", "ampfile", "relampfile",
                       "catfile", "corfile", "simulpsfile", "vmodel_paths")


def dataset_name(control: Path) -> str:
    """The name a network's input set runs under (``attpd/<kind>/NAME``): its control file's folder, in the
    suite's data-set spelling (lower-case letters, digits, dashes)."""
    import re

    return re.sub(r"[^a-z0-9-]+", "-", Path(control).resolve().parent.name.lower()).strip("-") or "skhash"


def merge_columns(settings: dict[str, list[str]]) -> tuple[str, ...]:
    """The fields SKHASH joins with dots into a station code, for a control file's ``settings``
    (:func:`read_control`), as SKHASH 1.1.5 decides them (``functions/in_qc.py``): hash1 matches on station and
    channel, hash2-5 on network, station and channel, the skhash format on its ``require_<field>_match`` flags
    (all true by default)."""
    input_format = str(settings.get("input_format", ["skhash"])[0]).strip().lower()
    if input_format == "hash1":
        return "station", "channel"
    if input_format.startswith("hash"):
        return "network", "station", "channel"
    flag = lambda field: str(settings.get(f"require_{field}_match", ["True"])[0]).strip().lower() != "false"  # noqa: E731
    return tuple(field for field in MATCH_COLUMNS if flag(field))


def read_control(control: Path) -> dict[str, list[str]]:
    """The settings of a SKHASH control file (``$name`` then its value lines; text after ``#`` ignored), each
    as its list of value lines, as SKHASH's ``read_control_file`` reads them."""
    control = Path(control)
    try:
        lines = control.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{control}: cannot read the SKHASH control file ({exc})") from None
    settings: dict[str, list[str]] = {}
    name = None
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line.startswith("$"):
            name = line[1:].split()[0]
            settings[name] = []
        elif line and name is not None:
            settings[name].append(line)
    if not settings:
        raise DataError(f"{control}: not a SKHASH control file (no $setting line)")
    return settings


def check_control_inputs(control: Path, *, base: Path | None = None) -> dict[str, list[str]]:
    """The control file's settings with every input path made absolute (relative to ``base``, the current
    folder by default, as SKHASH reads them); a path to no file is one error naming the setting."""
    settings = read_control(control)
    base = Path(base or Path.cwd())
    for key in INPUT_PATH_SETTINGS:
        if key in settings:
            paths = [str((base / value).resolve()) for line in settings[key] for value in line.split()]
            missing = [p for p in paths if not Path(p).is_file()]
            if missing:
                raise DataError(f"{control}: ${key} names {missing[0]}, which does not exist (paths are read "
                                f"relative to {base})")
            settings[key] = paths
    return settings


def adopt_control(control: Path, folder: Path, *, base: Path | None = None, without: tuple[str, ...] = ()) -> Path:
    """A copy of a user's SKHASH control file in ``folder`` that SKHASH runs from anywhere: input paths made
    absolute (relative to ``base``, the folder SKHASH would have run in: the current one by default), the
    settings in ``without`` dropped (``plfile``: the raw polarities, before the network's reversal list), and
    the outputs the suite reads (mechanisms, polarity info) redirected into ``folder``. The user's files are
    read, never written."""
    settings = check_control_inputs(control, base=base)
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    kept = {k: v for k, v in settings.items()
            if k not in without and not k.startswith("outfile") and k != "outfolder_plots"}
    kept.update({"outfile1": [str(folder / MECHANISM_FILE)], "outfile_pol_info": [str(folder / POLARITY_INFO_FILE)]})
    lines = [f"{CONTROL_HEADER} for SKHASH {SKHASH_VERSION} from {Path(control).resolve()}"
             + (f", without {', '.join('$' + k for k in without)}" if without else "")]
    for key, values in kept.items():
        lines += [f"${key}", *values]
    write_atomically(folder / CONTROL_FILE, "\n".join(lines) + "\n")
    return folder / CONTROL_FILE


def polarity_info(control: Path) -> pd.DataFrame:
    """The polarity rows SKHASH used for the events it solved (its ``outfile_pol_info``, written by
    :func:`run`): event, station code, polarity, take-off angle and azimuth."""
    path = Path(control).resolve().parent / POLARITY_INFO_FILE
    if not path.is_file():
        return pd.DataFrame(columns=["event_id", "sta_code", "p_polarity", "takeoff", "azimuth"])
    return pd.read_csv(path, dtype={"event_id": str, "sta_code": str})
