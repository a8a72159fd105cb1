"""Rich output shared by the CLI and long-running steps: one console, one progress style."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn

console = Console()
err_console = Console(stderr=True)


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
