"""The command line being run, as the runs it makes record it (their ``command`` tag).

The CLI sets it for the length of a command; :func:`attpd_bench.tracking.command_line` reads it. It lives apart from
``tracking`` so that setting it does not import MLflow before a command has checked its options.
"""

from __future__ import annotations

from contextvars import ContextVar

#: The command being run (with its options), so every run records how it was made.
invoked_command: ContextVar[str | None] = ContextVar("invoked_command", default=None)
