"""Real data: the demo's champions and the first-motion baseline on the real Kumamoto recordings, the mechanism
they give against F-net's, and the throughput of `attpd predict` from files.

1. Accuracy against the analyst's U/D on the 29 labelled traces, with coverage and 95 % intervals
   (:mod:`attpd_bench.sim_to_real`), for every champion registered in a demo workdir (``--workdir``, default
   ``attpd-work``, what `make demo` leaves) and for the first-motion baseline.
2. Per picker, its polarities through SKHASH (stations from the SAC headers, the Hi-net region's velocity model)
   and the Kagan angle of the mechanism to F-net's (strike 20, dip 69, rake 172).
3. Throughput: `attpd predict --waveforms --picks` on 1,000 and 10,000 miniSEED files (copies of the real traces
   under new station names, at most 5 characters as miniSEED allows), traces/s and the peak RSS of the process.

Usage: python benchmarks/real_data.py [--workdir attpd-work] [--files 1000 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, WORK, markdown_table, run_child  # noqa: E402

FNET = (20.0, 69.0, 172.0)


def pickers(workdir: Path) -> dict[str, str]:
    """Champions registered in the demo workdir's MLflow database, and the baseline."""
    from attpd_bench import demo, registry, tracking
    from attpd_bench.data.synth import REGIONS

    found = {}
    if (workdir / "mlflow.db").exists():
        tracking.configure(f"sqlite:///{workdir / 'mlflow.db'}")
        for region in REGIONS:
            for model in demo.MODELS:
                name = registry.registered_name(model, region)
                if registry.alias_version(name, registry.CHAMPION) is not None:
                    found[f"{model} champion ({region})"] = registry.model_uri(name)
    return {**found, "first-motion": "first-motion"}


def mechanism_angle(uri: str, folder: Path) -> tuple[float, int]:
    """Kagan angle (deg) of the mechanism SKHASH finds from ``uri``'s polarities to F-net's; and the picks used."""
    from attpd_bench.focal import skhash
    from attpd_bench.models import load_model
    from attpd_bench.focal.mechanism import kagan_angle
    from attpd_bench.predict import predict_to_file
    from attpd_bench.sim_to_real import KUMAMOTO, RealCase

    origin = pd.read_csv(KUMAMOTO / "catalog.csv").iloc[0]
    catalog = folder / "catalog.csv"
    pd.DataFrame({"event_id": [origin["event_id"]], "time": [origin["origin_time"]], "latitude": [origin["latitude"]],
                  "longitude": [origin["longitude"]], "depth": [origin["depth_km"]]}).to_csv(catalog, index=False)
    report = predict_to_file(load_model(uri), RealCase.at(KUMAMOTO).reader(), folder / "pred.csv", overwrite=True,
                             skhash_out=folder / "skhash", catalog=catalog, velocity_model=Path("hinet"))
    found = skhash.run(folder / "skhash" / "control.txt")
    if found.empty:
        return float("nan"), report.skhash_picks
    angle = kagan_angle(FNET, tuple(found[["strike", "dip", "rake"]].iloc[0]))
    return float(np.ravel(angle)[0]), report.skhash_picks


def throughput(n_files: int) -> dict:
    """`attpd predict` (the first-motion baseline, so the figure is the reader's) on ``n_files`` miniSEED files."""
    folder = WORK / "real_data" / f"files-{n_files}"
    picks = folder / "picks.csv"
    if not picks.exists():
        from obspy import read

        from attpd_bench.sim_to_real import KUMAMOTO

        folder.mkdir(parents=True, exist_ok=True)
        table = pd.read_csv(KUMAMOTO / "picks.csv")
        sources = sorted((KUMAMOTO / "waveforms").glob("*.SAC"))
        rows = []
        for i in range(n_files):
            tr = read(str(sources[i % len(sources)]))[0]
            original = tr.stats.station
            tr.stats.network, tr.stats.station, tr.stats.channel = "XX", f"S{i:04d}", "HHZ"
            tr.data = tr.data.astype(np.float32)
            tr.write(str(folder / f"S{i:04d}.mseed"), format="MSEED")
            p_time = table.loc[table["station"] == original, "p_time"].iloc[0]
            rows.append({"event_id": "e1", "trace_id": f"XX.S{i:04d}..HHZ", "p_time": p_time})
        pd.DataFrame(rows).to_csv(picks, index=False)
    out = folder / "pred.csv"
    code = (f"import time; from attpd_bench.cli import main; import sys\n"
            f"sys.argv = ['attpd', 'predict', '--model-uri', 'first-motion', '--waveforms', r'{folder}/*.mseed', "
            f"'--picks', r'{picks}', '--output', r'{out}', '--overwrite', '--tracking-uri', "
            f"'sqlite:///{folder / 'mlflow.db'}']\n"
            f"t = time.perf_counter()\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            f"import json; print(json.dumps({{'seconds': time.perf_counter() - t}}))\n")
    result = run_child(code)
    rows = len(pd.read_csv(out))
    return {"files": n_files, "traces": rows, "seconds": result["seconds"],
            "traces_per_s": rows / result["seconds"], "peak_rss_mb": result["peak_rss_mb"]}


def run(workdir: Path = ROOT / "attpd-work", files: tuple[int, ...] = (1000, 10000)) -> str:
    from attpd_bench import sim_to_real

    folder = WORK / "real_data"
    folder.mkdir(parents=True, exist_ok=True)
    found = pickers(Path(workdir))
    table = sim_to_real.score_models(found)
    rows = []
    for name, uri in found.items():
        sub = folder / name.replace(" ", "-").replace("(", "").replace(")", "")
        sub.mkdir(exist_ok=True)
        angle, n_picks = mechanism_angle(uri, sub)
        r = table.loc[name]
        rows.append([name, f"{r['balanced_accuracy']:.2f} [{r['balanced_accuracy_ci'][0]:.2f}, "
                           f"{r['balanced_accuracy_ci'][1]:.2f}]",
                     f"{r['accuracy']:.2f} [{r['accuracy_ci'][0]:.2f}, {r['accuracy_ci'][1]:.2f}]",
                     f"{r['coverage']:.2f}", n_picks, "none" if np.isnan(angle) else f"{angle:.0f}"])
    parts = [markdown_table(["picker", "balanced accuracy [95 %]", "accuracy [95 %]", "coverage",
                             "SKHASH picks", "Kagan to F-net (deg)"], rows)]
    speed = [throughput(n) for n in files]
    parts.append(markdown_table(["files", "traces predicted", "seconds", "traces/s", "peak RSS (MB)"],
                                [[s["files"], s["traces"], s["seconds"], s["traces_per_s"], s["peak_rss_mb"]]
                                 for s in speed]))
    return "\n\n".join(parts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "attpd-work")
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(run(args.workdir, tuple(args.files)))
