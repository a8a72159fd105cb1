"""`attpd predict` throughput (store -> windows -> model -> CSV, in chunks) versus the bare model's predict on
windows already in memory. Target: at least 90 % of the bare throughput.

Usage: python benchmarks/predict_throughput.py [--events 600]
"""

from __future__ import annotations

import argparse
import os
import time

from _common import WORK, markdown_table
from train_throughput import store_for

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def run(events: int = 600, batch_size: int = 1024) -> str:
    import keras

    from attpd_bench.data.preprocess import model_windows
    from attpd_bench.models import build_model
    from attpd_bench.predict import predict_to_file

    store = store_for("pnw", events)
    keras.utils.set_random_seed(0)
    model = build_model("pd")
    x = model_windows(store.arrays().waveforms)[..., None]
    model.predict(x, batch_size=batch_size, verbose=0)  # warm-up: traces the full and the last partial batch
    t = time.perf_counter()
    model.predict(x, batch_size=batch_size, verbose=0)
    bare = len(x) / (time.perf_counter() - t)
    t = time.perf_counter()
    report = predict_to_file(model, store.path, WORK / "predict-bench.csv", batch_size=batch_size,
                             overwrite=True)
    ours = report.written / (time.perf_counter() - t)
    return markdown_table(["traces", "attpd predict traces/s", "bare model.predict traces/s", "ratio", "target"],
                          [[len(x), f"{ours:,.0f}", f"{bare:,.0f}", f"{ours / bare:.2f}", ">= 0.90"]])


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=600)
    print(run(p.parse_args().events))
