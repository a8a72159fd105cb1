"""Training samples/s of PD with the project's pipeline (store -> tf.data, augmentation on the fly) versus the
same model fed from arrays already in memory (windows and flipped copies precomputed). Target: the pipeline
costs at most 10 % of the throughput.

Usage: python benchmarks/train_throughput.py [--events 300] [--epochs 2] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

from _common import WORK, markdown_table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def store_for(region: str, events: int):
    from attpd_bench.data.prepare import prepare_store
    from attpd_bench.data.store import PolarityStore
    from attpd_bench.data.synth import write_region

    raw, path = WORK / f"raw-{region}-ev{events}", WORK / f"store-{region}-ev{events}"
    if not (path / "manifest.json").exists():
        shutil.rmtree(raw, ignore_errors=True)
        write_region(region, events, raw, seed=5)
        prepare_store(region, raw, path, overwrite=True)
    return PolarityStore(path)


def run(events: int = 300, epochs: int = 2, batch_size: int = 256, model: str = "pd", rounds: int = 3) -> str:
    import keras
    import numpy as np

    from attpd_bench.data.preprocess import model_windows
    from attpd_bench.models import build_model
    from attpd_bench.pipeline import PipelineConfig, flip_augment, training_dataset

    store = store_for("pnw", events)
    ds, n = training_dataset(store, "train", PipelineConfig(batch_size=batch_size, seed=0), (400, 1))
    arrays = store.arrays("train")
    x, y = flip_augment(arrays.waveforms, arrays.labels)
    x, y = model_windows(x)[..., None], np.eye(3, dtype=np.float32)[y]

    def measure(fit_epochs, samples: int) -> float:
        keras.utils.set_random_seed(0)
        m = build_model(model)
        m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        fit_epochs(m, 1)  # warm-up: graph tracing
        t = time.perf_counter()
        fit_epochs(m, epochs)
        return samples * epochs / (time.perf_counter() - t)

    # one untimed round of each first (whichever runs first in a fresh process is ~20 % slow, pipeline or not),
    # then alternate, three rounds, medians
    pipe, mem = [], []
    for round_ in range(rounds + 1):
        p = measure(lambda m, e: m.fit(ds, epochs=e, verbose=0), n)
        q = measure(lambda m, e: m.fit(x, y, batch_size=batch_size, epochs=e, verbose=0, shuffle=True), len(x))
        if round_ > 0:
            pipe.append(p), mem.append(q)
    pipe_s, mem_s = float(np.median(pipe)), float(np.median(mem))
    rows = [[model, n, batch_size, f"{pipe_s:,.0f}", f"{mem_s:,.0f}", f"{(1 - pipe_s / mem_s) * 100:+.1f}%",
             "<= 10%"]]
    return markdown_table(["model", "samples/epoch", "batch", "pipeline samples/s", "in-memory samples/s",
                           "pipeline cost", "target"], rows) + \
        f"\n\nsingle runs (samples/s): pipeline {[round(v) for v in pipe]}, in memory {[round(v) for v in mem]}"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=300)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    a = p.parse_args()
    print(run(a.events, a.epochs, a.batch_size))
