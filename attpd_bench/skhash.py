"""SKHASH (the USGS successor of HASH for focal mechanisms) in an environment of its own.

SKHASH 1.1.5 pins ``numpy<2`` and TensorFlow 2.21 needs ``numpy>=2``: the two cannot share an environment. SKHASH
is a program driven by a control file, so the suite runs it as a subprocess of a virtual environment it creates
once (about 180 MB; seconds with a warm pip cache) under ``~/.cache/attpd-bench/`` (``ATTPD_SKHASH_HOME``
overrides). Nothing of SKHASH is imported into the suite's own process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from attpd_bench.errors import ConfigError

SKHASH_VERSION = "1.1.5"
COMPLETE = ".attpd-complete"  # written last into the environment


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
            shutil.rmtree(venv, ignore_errors=True)  # a build that was interrupted
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
            pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"SKHASH=={SKHASH_VERSION}"],
                                 capture_output=True, text=True)
            if pip.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise ConfigError(f"cannot install SKHASH {SKHASH_VERSION} into {venv}: "
                                  f"{(pip.stderr.strip().splitlines() or ['pip failed'])[-1][:300]}")
            (venv / COMPLETE).write_text(SKHASH_VERSION)
    return venv / "bin" / "python"
