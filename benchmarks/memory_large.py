"""Training on a store of at least 300,000 traces: peak memory of the streaming path (target <= 3 GB) and its
throughput against the in-memory path on a smaller store (target: within 10 %).

The large store is the synthetic PNW region of ``train_throughput.py`` written over and over by the suite's
StoreWriter, each copy with its own event and trace names and its own random gain per trace (a positive gain:
every label stays true), then split by event as `attpd data prepare` does. Its training split is far above the
in-memory threshold (``pipeline.in_memory_bytes``), so training streams it from HDF5. Each measurement runs in
a fresh process (peak RSS of that process): PD, batch 256, ``--steps`` timed steps after 20 untimed ones.

Usage: python benchmarks/memory_large.py [--traces 300000] [--steps 300]
"""

from __future__ import annotations

import argparse
import math
import os

from _common import WORK, markdown_table, run_child
from train_throughput import store_for

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
GB = 2**30


def large_store(traces: int):
    import numpy as np

    from attpd_bench.data.store import READER_COLUMNS, PolarityStore, StoreWriter, event_split

    path = WORK / f"store-pnw-{traces}"
    if (path / "manifest.json").exists():
        return PolarityStore(path)
    base = store_for("pnw", 300)
    rng = np.random.default_rng(0)
    writer = StoreWriter(path, "pnw", overwrite=True)
    try:
        for copy in range(math.ceil(traces / len(base))):
            for chunk in base.iter_chunks(None, 4096):
                meta = base.metadata.iloc[chunk.rows][list(READER_COLUMNS)].reset_index(drop=True)
                meta["source_id"] = meta["source_id"].astype(str) + f"-copy{copy}"
                meta["source_trace_name"] = meta["source_trace_name"].astype(str) + f"-copy{copy}"
                gain = rng.uniform(0.5, 2.0, size=(len(meta), 1)).astype(np.float32)
                writer.append(chunk.waveforms * gain, meta)
        store = writer.commit(event_split(writer.column("source_id"), 0), split_mode="event", seed=0)
    except BaseException:
        writer.abort()
        raise
    return store


def measure(store_path, steps: int, max_in_memory_gb: float) -> dict:
    return run_child(f"""
import json, time
import keras
from attpd_bench.data.store import PolarityStore
from attpd_bench.models import build_model
from attpd_bench.pipeline import PipelineConfig, in_memory_bytes, training_dataset
store = PolarityStore({str(store_path)!r})
config = PipelineConfig(batch_size=256, seed=0, max_in_memory_gb={max_in_memory_gb})
n_train = len(store.rows('train'))
ds, n = training_dataset(store, 'train', config, (400, 1))
keras.utils.set_random_seed(0)
m = build_model('pd'); m.compile(optimizer='adam', loss='categorical_crossentropy')
m.fit(ds.repeat(), steps_per_epoch=20, epochs=1, verbose=0)
t = time.perf_counter(); m.fit(ds.repeat(), steps_per_epoch={steps}, epochs=1, verbose=0)
seconds = time.perf_counter() - t
print(json.dumps({{'traces': len(store), 'train_traces': n_train, 'samples_per_s': {steps} * 256 / seconds,
                  'estimate_gb': in_memory_bytes(n_train, config) / {GB},
                  'streams': in_memory_bytes(n_train, config) / {GB} > config.max_in_memory_gb}}))
""")


def run(traces: int = 300_000, steps: int = 300) -> str:
    small, large = store_for("pnw", 300), large_store(traces)
    cases = [("large, streaming (automatic)", large.path, 4.0), ("small, in memory", small.path, 4.0),
             ("small, streaming (forced)", small.path, 0.0)]
    results = [(label, measure(path, steps, limit)) for label, path, limit in cases]
    reference = results[1][1]["samples_per_s"]
    rows = [[label, f"{r['traces']:,}", f"{r['train_traces']:,}", "streams" if r["streams"] else "in memory",
             f"{r['estimate_gb']:.2f}", f"{r['peak_rss_mb']:,.0f}", f"{r['samples_per_s']:,.0f}",
             f"{(r['samples_per_s'] / reference - 1) * 100:+.1f}%"] for label, r in results]
    table = markdown_table(["store", "traces", "train traces", "path", "in-memory estimate GB", "peak RSS MB",
                            "samples/s", "vs in memory"], rows)
    return table + (f"\n\nTargets: peak RSS <= 3,072 MB on the large store; its throughput within 10 % of the "
                    f"in-memory path. {steps} timed steps of batch 256 per row (PD), after 20 untimed ones.")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--traces", type=int, default=300_000)
    p.add_argument("--steps", type=int, default=300)
    a = p.parse_args()
    print(run(a.traces, a.steps))
