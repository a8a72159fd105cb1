"""Prepare throughput and peak memory per layout, beside the original generator's way and the I/O limit.

* ours: ``prepare_store`` (chunked reads, one vectorised taper + band-pass per chunk), traces/s and the
  child process's peak RSS at two sizes (memory must stay flat in N);
* baseline: the original generator's per-trace work: ``df[df.trace_name == k]`` twice (P pick and polarity),
  read ``data/k``, the Python taper loop, ``filtfilt`` on the whole trace, the cut; measured at the data set's
  own metadata size and, for the lookup, at INSTANCE's 1.16 M rows;
* limit: reading the same Z traces from HDF5 (h5py's fastest, low-level read) plus one vectorised band-pass
  over the batch, with nothing else (no taper, cut, validation or writing).

Usage: python benchmarks/prepare_speed.py [--sizes 5000 20000] [--layouts hinet,ins,pnw,scsn]
"""

from __future__ import annotations

import argparse
import math
import shutil
import time

import h5py
import numpy as np
import pandas as pd
from scipy import signal

from _common import WORK, markdown_table, run_child

PICKS_PER_EVENT = {"ins": 17.5, "hinet": 21.0, "scsn": 6.5, "pnw": 14.0}  # traces written per event (approx.)
INSTANCE_ROWS = 1_159_249


def synth(layout: str, n_traces: int) -> tuple:
    from attpd_bench.data.synth import write_region

    folder = WORK / f"raw-{layout}-{n_traces}"
    if not (folder / "truth.csv").exists():
        shutil.rmtree(folder, ignore_errors=True)
        write_region(layout, max(1, round(n_traces / PICKS_PER_EVENT[layout])), folder, seed=1, batch_size=256,
                     bucket_size=1000)
    truth = pd.read_csv(folder / "truth.csv", usecols=["written"])
    return folder, int(truth["written"].sum())


def ours(layout: str, folder, n: int) -> dict:
    code = f"""
import time, json, shutil
from attpd_bench.data.prepare import prepare_store
out = {str(WORK / f'store-{layout}-{n}')!r}
shutil.rmtree(out, ignore_errors=True)
t = time.perf_counter()
store, report = prepare_store({layout!r}, {str(folder)!r}, out)
print(json.dumps({{'seconds': time.perf_counter() - t, 'written': report.written}}))
"""
    return run_child(code)


def _original_taper(data, n_taper=100):
    nn = len(data)
    win = np.ones((nn, 1))
    for i in range(n_taper):
        win[i] = 0.5 - 0.5 * math.cos(math.pi / n_taper * (i - 1))
    win1 = np.flipud(win)
    return data * win.reshape(-1) * win1.reshape(-1)


def baseline_hinet(folder, n_sample: int = 2000) -> dict:
    """The original DataGenerator_PD_Hinet per-trace path on the first ``n_sample`` traces."""
    df = pd.read_csv(folder / "HINET_Polarity_15_19.csv")
    names = df["trace_name"].tolist()[:n_sample]
    b, a = signal.butter(2, [1 * 2 * 0.01, 45 * 2 * 0.01], "bandpass")
    t = time.perf_counter()
    with h5py.File(folder / "HINET_Polarity_15_19.hdf5") as h5:
        for k in names:
            dat = np.array(h5.get("data/" + k))[:, 2]
            dat = signal.filtfilt(b, a, _original_taper(dat))
            pt = df[df.trace_name == k]["p_arrival_sample"].tolist()[0]
            _ = df[df.trace_name == k]["p_status"].tolist()[0]
            _ = dat[pt - 200:pt + 200]
    return {"traces_per_s": len(names) / (time.perf_counter() - t), "rows": len(df)}


def lookup_ms(n_rows: int, n_lookups: int = 100) -> float:
    """Milliseconds for the original's two ``df[df.trace_name == k]`` lookups of one trace."""
    df = pd.DataFrame({"trace_name": [f"{i}.IV.STA{i % 997}..HH" for i in range(n_rows)],
                       "trace_P_arrival_sample": np.arange(n_rows) % 5000,
                       "trace_polarity": np.where(np.arange(n_rows) % 3, "positive", "negative")})
    keys = df["trace_name"].sample(n_lookups, random_state=0).tolist()
    t = time.perf_counter()
    for k in keys:
        _ = df[df.trace_name == k]["trace_P_arrival_sample"].tolist()[0]
        _ = df[df.trace_name == k]["trace_polarity"].tolist()[0]
    return (time.perf_counter() - t) / n_lookups * 1000


def limit_hinet(folder, n_sample: int = 5000) -> dict:
    df = pd.read_csv(folder / "HINET_Polarity_15_19.csv")
    names = df["trace_name"].tolist()[:n_sample]
    b, a = signal.butter(2, [1 * 2 * 0.01, 45 * 2 * 0.01], "bandpass")
    t = time.perf_counter()
    with h5py.File(folder / "HINET_Polarity_15_19.hdf5") as h5:
        gid = h5["data"].id
        traces = []
        for k in names:  # the fastest h5py read: low-level, whole dataset into a buffer
            dset = h5py.h5d.open(gid, k.encode())
            buf = np.empty(dset.shape, dtype=dset.dtype)
            dset.read(h5py.h5s.ALL, h5py.h5s.ALL, buf)
            traces.append(buf[:, 2])
    by_len: dict[int, list] = {}
    for tr in traces:
        by_len.setdefault(len(tr), []).append(tr)
    for group in by_len.values():
        signal.filtfilt(b, a, np.stack(group), axis=-1)
    return {"traces_per_s": len(names) / (time.perf_counter() - t)}


def run(sizes=(5000, 20000), layouts=("hinet", "ins", "pnw", "scsn")) -> str:
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    speed = {}
    for layout in layouts:
        layout_sizes = sizes if layout in ("hinet", "scsn") else tuple(max(1000, s // 4) for s in sizes)
        for size in layout_sizes:
            folder, n = synth(layout, size)
            r = ours(layout, folder, n)
            speed[(layout, size)] = n / r["seconds"]
            rows.append([layout, n, f"{n / r['seconds']:,.0f}", f"{r['peak_rss_mb']:,.0f}"])
    table = markdown_table(["layout", "traces", "ours traces/s", "ours peak RSS (MB)"], rows)

    lines = [table, ""]
    if "hinet" in layouts:
        big = max(sizes)
        folder, n = synth("hinet", big)
        base = baseline_hinet(folder)
        lim = limit_hinet(folder)
        ms_50k, ms_inst = lookup_ms(50_000), lookup_ms(INSTANCE_ROWS)
        # the baseline's per-trace time minus its own lookups, plus the lookups at the other metadata size
        work_s = 1 / base["traces_per_s"] - lookup_ms(base["rows"]) / 1000
        ours_speed = speed[("hinet", big)]
        base_50k = 1 / (work_s + ms_50k / 1000)
        base_inst = 1 / (work_s + ms_inst / 1000)
        cmp_rows = [
            ["original generator, measured", f"{base['rows']:,} rows", f"{base['traces_per_s']:,.0f}",
             f"{ours_speed / base['traces_per_s']:.1f}x", "-"],
            ["original generator, 50k-row metadata", "50,000 rows", f"{base_50k:,.0f}",
             f"{ours_speed / base_50k:.1f}x", ">= 4x"],
            ["original generator, INSTANCE-size metadata", f"{INSTANCE_ROWS:,} rows", f"{base_inst:,.0f}",
             f"{ours_speed / base_inst:.1f}x", ">= 20x"],
            ["limit: HDF5 read + one vectorised band-pass", "-", f"{lim['traces_per_s']:,.0f}",
             f"{ours_speed / lim['traces_per_s']:.2f}x", ">= 0.5x (within 2x)"],
        ]
        lines += [f"Hi-net layout, {n:,} traces; ours {ours_speed:,.0f} traces/s. Original lookup "
                  f"df[df.trace_name == k] x2: {ms_50k:.2f} ms/trace at 50k rows, {ms_inst:.2f} ms/trace at "
                  f"{INSTANCE_ROWS:,} rows.", "",
                  markdown_table(["reference", "metadata", "traces/s", "ours / reference", "target"], cmp_rows)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(5000, 20000))
    parser.add_argument("--layouts", default="hinet,ins,pnw,scsn")
    args = parser.parse_args()
    print(run(tuple(args.sizes), tuple(args.layouts.split(","))))
