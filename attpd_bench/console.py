"""Rich output shared by the CLI and long-running steps: one console, one progress style."""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import sys
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn

console = Console(emoji=False)  # the suite prints codes and paths, never emoji: ":a:" stays ":a:"
err_console = Console(stderr=True, emoji=False)

VERBOSE_ENV = "ATTPD_VERBOSE"  # an environment variable, so that tuning worker processes inherit it
# known, harmless library warnings (integer columns in a model signature, tf.data's shuffle note, a local path
# as a dataset source)
QUIET_WARNINGS = ("Hint: Inferred schema contains integer", "`shuffle=True` was passed",
                  "The specified dataset source can be interpreted")


def set_verbosity(verbose: bool) -> None:
    """Quiet by default: the suite's own messages and progress bars only. ``verbose`` (``attpd --verbose``)
    gives back TensorFlow's C++ and Python logs, MLflow's and Optuna's INFO lines and library warnings.

    Call before TensorFlow is imported: its C++ log level is read once, from TF_CPP_MIN_LOG_LEVEL (level 3 also
    hides the harmless "NodeDef mentions attribute use_unbounded_threadpool" errors)."""
    if verbose or os.environ.get(VERBOSE_ENV) == "1":
        os.environ[VERBOSE_ENV] = "1"
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # e.g. "Creating initial MLflow database tables"
    # "Downloading artifacts: 100%|####|" from every runs:/ or models:/ URI the suite loads
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """TensorFlow writes start-up lines (oneDNN, CUDA drivers, CPU features) to file descriptor 2 while it is
    imported, before any log level applies: its first import runs with descriptor 2 on /dev/null. Python
    errors still propagate; only the C++ chatter of that moment is lost. TensorFlow stays a lazy import."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            execute = spec.loader.exec_module

            def exec_module(module):
                with _stderr_descriptor_silenced():
                    execute(module)

            spec.loader.exec_module = exec_module
        return spec


@contextmanager
def _stderr_descriptor_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
