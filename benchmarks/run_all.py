"""Run every benchmark and write benchmarks/RESULTS.md (machine, versions, date, each figure beside its target).

Usage: python benchmarks/run_all.py [--quick]     (also: make bench)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import audit  # noqa: E402
import closure  # noqa: E402
import demo_skill  # noqa: E402
import memory_large  # noqa: E402
import predict_throughput  # noqa: E402
import prepare_speed  # noqa: E402
import real_data  # noqa: E402
import realism  # noqa: E402
import scaling  # noqa: E402
import sim_to_real  # noqa: E402
import sim_to_real_scaling  # noqa: E402
import train_throughput  # noqa: E402
import tune_pruning  # noqa: E402
import unread_treatment  # noqa: E402


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "?")
    versions = ", ".join(f"{p} {version(p)}" for p in ("tensorflow", "keras", "mlflow", "optuna", "numpy", "h5py"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout
    return (f"{datetime.date.today()} on {os.cpu_count()} cores ({cpu}), {int(mem) / 2**20:.0f} GiB; Python "
            f"{platform.python_version()}; {versions}; commit {commit.strip()}")


def main(quick: bool) -> None:
    sections = [
        ("Prepare throughput and memory (issue: data layer)",
         "`python benchmarks/prepare_speed.py`" + (" --sizes 2000 8000" if quick else ""),
         lambda: prepare_speed.run((2000, 8000) if quick else (5000, 20000))),
        ("Training: pipeline versus in-memory arrays", "`python benchmarks/train_throughput.py`",
         lambda: train_throughput.run(events=150 if quick else 300)),
        ("Prediction: attpd predict versus bare model.predict", "`python benchmarks/predict_throughput.py`",
         lambda: predict_throughput.run(events=300 if quick else 600)),
        ("Tuning: median pruner versus none, same trial budget", "`python benchmarks/tune_pruning.py`",
         lambda: tune_pruning.run(trials=6 if quick else 10)),
        ("Scaling with the number of traces (Hi-net layout)", "`python benchmarks/scaling.py`",
         lambda: scaling.run((30, 120, 480) if quick else (50, 200, 800))),
        ("Training on a store of 300,000 traces: memory and throughput of the streaming path",
         "`python benchmarks/memory_large.py`" + (" --traces 100000" if quick else ""),
         lambda: memory_large.run(100_000 if quick else 300_000)),
        ("Main job: the demo's champions against the skill and time targets",
         "`python benchmarks/demo_skill.py`" + (" --quick" if quick else ""), lambda: demo_skill.run(quick)),
        ("Closure: polarities to focal mechanisms (SKHASH), true signs, analyst labels, PD and Ross",
         "`python benchmarks/closure.py`" + (" --quick" if quick else ""), lambda: closure.run(quick)),
        ("Realism: real Hi-net windows beside the generator's", "`python benchmarks/realism.py`",
         lambda: realism.run(60 if quick else 150)),
        ("Sim to real against training size: is the real-data figure the generator's or the demo's size's?",
         "`python benchmarks/sim_to_real_scaling.py --epochs 6 --events 60 240" + ("`" if quick else " 480`"),
         lambda: sim_to_real_scaling.run(["hinet"], [60, 240] if quick else [60, 240, 480], epochs=6)),
        ("Sim to real, five seeds and their ensemble per region and model (issue 36; dev figures)",
         "`python benchmarks/sim_to_real.py`" + (" --seeds 2 --regions hinet" if quick else ""),
         lambda: sim_to_real.run(("hinet",) if quick else sim_to_real.REGIONS, 2 if quick else 5)),
        ("Not-read picks: keep, drop or read them for training (issue 36; dev figures)",
         "`python benchmarks/unread_treatment.py`", lambda: unread_treatment.run()),
        ("Real data: the demo's champions on real recordings, and predict's throughput from files",
         "`python benchmarks/real_data.py`" + (" --files 1000" if quick else ""),
         lambda: real_data.run(files=(1000,) if quick else (1000, 10000))),
        ("Audits: reversed stations and mislabelled picks, synthetic and Northridge",
         "`python benchmarks/audit.py`" + (" --events 60" if quick else ""),
         lambda: audit.run(60 if quick else 100)),
    ]
    out = ["# Benchmark results", "", f"Measured {machine()}.", ""]
    for title, command, fn in sections:
        print(f"== {title}", flush=True)
        cwd = os.getcwd()
        try:
            table = fn()
        finally:
            os.chdir(cwd)
        print(table, flush=True)
        out += [f"## {title}", "", command, "", table, ""]
    (HERE / "RESULTS.md").write_text("\n".join(out))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
