"""Helpers the benchmark scripts share: a work folder, peak memory of a child process, markdown tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("ATTPD_BENCH_WORK", ROOT / "benchmarks" / "_work"))


def run_child(code: str) -> dict:
    """Run ``code`` in a fresh Python; it must print one JSON line last. Adds the child's peak RSS (MB).

    The peak is VmHWM of the child's own address space: ``ru_maxrss`` would include the parent's peak, which
    Linux carries over the fork into the exec'd child."""
    wrapped = code + "\nimport json as _j, re as _re\nprint(_j.dumps({'peak_rss_mb': int(_re.search(" \
                     "r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024}))\n"
    out = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    result = {}
    for line in lines:
        result.update(line)
    return result


def markdown_table(headers: list[str], rows: list[list]) -> str:
    fmt = lambda v: f"{v:,.1f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
