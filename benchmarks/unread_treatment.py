"""How should training treat the picks a synthetic analyst never read for polarity? (issue 36)

One synthetic region, three stores of the same raw files (`attpd data prepare --unread keep|drop|read`), PD and
Ross trained as the demo trains its untuned configuration (5 epochs, batch 32, BatchNormalization momentum 0.9,
early stopping on dev) for each seed, then scored on the store's own test split (macro-F1) and on every real case
of `data/real/` (a **dev** set: balanced accuracy of up and down recall, an abstention counts as wrong; coverage;
sign accuracy where it answers). The demo's `DEMO_UNREAD` is the treatment this table chose.

Usage: python benchmarks/unread_treatment.py [--region hinet] [--events 60] [--seeds 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import WORK, markdown_table  # noqa: E402

from attpd_bench import sim_to_real  # noqa: E402
from attpd_bench.data.prepare import prepare_store  # noqa: E402
from attpd_bench.data.synth import UNREAD_TREATMENTS, write_region  # noqa: E402
from attpd_bench.settings import TrainConfig  # noqa: E402
from attpd_bench.train import fit, score_split  # noqa: E402


def run(region: str = "hinet", n_events: int = 60, seeds=(0,), models=("pd", "ross")) -> str:
    work = WORK / f"unread-{region}-{n_events}"
    raw = work / "raw"
    if not (raw / "truth.csv").exists():
        write_region(region, n_events, raw, seed=1)
    real = sim_to_real.read_cases(sim_to_real.real_cases())
    rows = []
    for unread in UNREAD_TREATMENTS:
        store = prepare_store(region, raw, work / f"store-{unread}", seed=0, unread=unread, overwrite=True)[0]
        for model in models:
            for seed in seeds:
                config = TrainConfig(model=model, epochs=5, batch_size=32, patience=2, seed=seed,
                                     hyperparameters={"bn_momentum": 0.9}).resolved()
                trained = fit(store, config).model
                test = score_split(trained, store, "test", config.model).report
                dev = next(iter(sim_to_real.score_cases({model: trained}, real, seed=0).values())).iloc[0]
                rows.append([unread, model, seed, len(store.rows("train")), round(float(test["macro_f1"]), 3),
                             f"{dev['balanced_accuracy']:.2f}", f"{dev['coverage']:.2f}",
                             f"{dev['sign_accuracy']:.2f}"])
                print(rows[-1], flush=True)
    return markdown_table(["unread picks", "model", "seed", "train traces", "own test macro-F1",
                           "dev balanced accuracy", "dev coverage", "dev sign accuracy"], rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="hinet")
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(run(args.region, args.events, tuple(args.seeds)))
