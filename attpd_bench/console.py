"""Rich output shared by the CLI and long-running steps: one console, one progress style."""

from __future__ import annotations

import logging
import os
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn

console = Console()
err_console = Console(stderr=True)

VERBOSE_ENV = "ATTPD_VERBOSE"  # an environment variable, so that tuning worker processes inherit it
# known, harmless library warnings (integer columns in a model signature, tf.data's shuffle note, a local path
# as a dataset source)
QUIET_WARNINGS = ("Hint: Inferred schema contains integer", "`shuffle=True` was passed",
                  "The specified dataset source can be interpreted")


def set_verbosity(verbose: bool) -> None:
    """Quiet by default: the suite's own messages and progress bars only. ``verbose`` (``attpd --verbose``)
    gives back TensorFlow's C++ and Python logs, Optuna's per-trial INFO lines and library warnings.

    Call before TensorFlow is imported: its C++ log level is read once, from TF_CPP_MIN_LOG_LEVEL (level 3 also
    hides the harmless "NodeDef mentions attribute use_unbounded_threadpool" errors)."""
    if verbose or os.environ.get(VERBOSE_ENV) == "1":
        os.environ[VERBOSE_ENV] = "1"
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV) == "1"


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar; yields ``update(done, total)``. Quiet when output is not a terminal."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total)

        def update(done: int, total_: int | None = None) -> None:
            bar.update(task, completed=done, total=total_ if total_ is not None else total)

        yield update
