"""How cost grows with the number of traces: prepare (Hi-net layout), one PD training epoch, predict, at three
sizes. Usage: python benchmarks/scaling.py [--events 50 200 800]
"""

from __future__ import annotations

import argparse
import os
import shutil

from _common import WORK, markdown_table, run_child

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def run(events=(50, 200, 800)) -> str:
    rows = []
    for n_events in events:
        raw, path = WORK / f"scale-raw-{n_events}", WORK / f"scale-store-{n_events}"
        if not (raw / "truth.csv").exists():
            from attpd_bench.data.synth import write_region

            shutil.rmtree(raw, ignore_errors=True)
            write_region("hinet", n_events, raw, seed=2)
        r = run_child(f"""
import json, shutil, time
from attpd_bench.data.prepare import prepare_store
shutil.rmtree({str(path)!r}, ignore_errors=True)
t = time.perf_counter(); store, rep = prepare_store('hinet', {str(raw)!r}, {str(path)!r})
prep = time.perf_counter() - t
import keras
from attpd_bench.models import build_model
from attpd_bench.pipeline import PipelineConfig, training_dataset
from attpd_bench.predict import predict_to_file
m = build_model('pd'); m.compile(optimizer='adam', loss='categorical_crossentropy')
ds, n = training_dataset(store, 'train', PipelineConfig(batch_size=256), (400, 1))
m.fit(ds.take(1), epochs=1, verbose=0)
t = time.perf_counter(); m.fit(ds, epochs=1, verbose=0); epoch = time.perf_counter() - t
t = time.perf_counter(); predict_to_file(m, store.path, {str(WORK / 'scale-pred.csv')!r}, overwrite=True); pred = time.perf_counter() - t
print(json.dumps({{'traces': rep.written, 'prepare_s': prep, 'epoch_s': epoch, 'train_samples': n,
                  'predict_s': pred}}))
""")
        rows.append([r["traces"], f"{r['prepare_s']:.1f}", f"{r['traces'] / r['prepare_s']:,.0f}",
                     f"{r['epoch_s']:.1f}", f"{r['train_samples'] / r['epoch_s']:,.0f}", f"{r['predict_s']:.1f}",
                     f"{r['traces'] / r['predict_s']:,.0f}", f"{r['peak_rss_mb']:,.0f}"])
    return markdown_table(["traces", "prepare s", "prepare traces/s", "PD epoch s", "train samples/s",
                           "predict s", "predict traces/s", "peak RSS MB"], rows)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, nargs=3, default=(50, 200, 800))
    print(run(tuple(p.parse_args().events)))
