"""A study with the median (and the Hyperband) pruner versus without, on the same budget of trials: epochs spent and best dev
macro-F1. Target: the pruned study reaches within 0.01 of the unpruned best with at most half the epochs.

Usage: python benchmarks/tune_pruning.py [--trials 10] [--epochs 6] [--events 150]
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from _common import WORK, markdown_table
from train_throughput import store_for

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def run(trials: int = 10, epochs: int = 6, events: int = 150) -> str:
    import optuna

    from attpd_bench import tracking
    from attpd_bench import tune as T

    store = store_for("pnw", events)
    folder = WORK / "tune-pruning"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.chdir(folder)
    tracking.configure(None)
    rows, best = [], {}
    base = T.load_study_spec(Path(__file__).resolve().parent.parent / "studies" / "pnw.toml")
    for pruner in ("none", "median", "hyperband"):
        spec = T.StudySpec(path=base.path, dataset=store.dataset, name=f"bench-{pruner}", n_trials=trials,
                           sampler={"name": "tpe", "seed": 0, "n_startup_trials": 4},
                           pruner={"name": pruner, "n_startup_trials": 3, "n_warmup_steps": 1, "min_resource": 1,
                                   "reduction_factor": 3},
                           training={"epochs": epochs, "patience": epochs, "batch_size": 32},
                           search=(T.SearchParam("learning_rate", "float", 1e-5, 3e-2, log=True),
                                   T.SearchParam("attention_width", "int", 5, 40)))
        study = T.optimize(spec, "pd", store, None, n_trials=trials)
        spent = sum(len(t.intermediate_values) for t in study.trials)
        pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
        best[pruner] = study.best_value
        rows.append([pruner, trials, pruned, spent, f"{study.best_value:.3f}"])
    verdict = "; ".join(f"{name}: epochs {row[3] / rows[0][3]:.2f} of unpruned (target <= 0.5), best macro-F1 "
                        f"{best['none'] - best[name]:+.3f} below unpruned (target <= 0.01)"
                        for name, row in zip(("median", "hyperband"), rows[1:]))
    return markdown_table(["pruner", "trials", "pruned", "epochs spent", "best dev macro-F1"], rows) + \
        "\n\n" + verdict


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--events", type=int, default=150)
    a = p.parse_args()
    print(run(a.trials, a.epochs, a.events))
