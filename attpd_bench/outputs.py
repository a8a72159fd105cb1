"""What a command writes: whole files (never a half-written one) into output folders the suite made.

Every command that writes a folder follows one rule: ``--out`` is new, empty, or a folder that same command wrote
before and ``--overwrite`` is given. A folder the suite did not make is never written into, let alone replaced.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from attpd_bench.errors import DataError


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` under a temporary name, renamed when complete: never a half-written file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def check_out(out: Path, *, overwrite: bool, written_by: Callable[[Path], bool], command: str) -> Path:
    """``out`` if ``command`` may write it: new, empty, or (with ``overwrite``) a folder ``written_by`` says
    ``command`` wrote. Checked before anything is written."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not out.is_dir() or not written_by(out):
            raise DataError(f"{out}: --out exists and is not a folder `{command}` wrote; refusing to write into it")
        if not overwrite:
            raise DataError(f"{out}: --out holds an earlier `{command}` answer; give --overwrite to replace it")
    return out
