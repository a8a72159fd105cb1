"""The main job end to end on embedded defaults: four synthetic regions -> stores -> a small PD study per
region -> PD and Ross on every region with the transfer matrices -> a champion per region and model.

Everything lands in ``--workdir``: raw data, stores, ``mlflow.db`` + ``mlruns/`` and ``optuna.journal``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from attpd_bench import registry, tracking
from attpd_bench import tune as T
from attpd_bench.console import console
from attpd_bench.data.prepare import prepare_store
from attpd_bench.data.store import PolarityStore
from attpd_bench.data.synth import REGIONS, write_region
from attpd_bench.train import TrainConfig
from attpd_bench.transfer import markdown_report, run_transfer


@dataclass(frozen=True)
class DemoSize:
    n_events: int  # per region
    trials: int  # per study
    epochs: int  # per training run (and per trial)
    batch_size: int
    n_boot: int


STUDIES = Path(__file__).resolve().parent.parent / "studies"  # the repository's study files
SIZES = {"quick": DemoSize(n_events=30, trials=2, epochs=3, batch_size=32, n_boot=200),
         "default": DemoSize(n_events=80, trials=4, epochs=8, batch_size=32, n_boot=1000)}


@contextmanager
def _in(folder: Path):
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def _study_spec(dataset: str, size: DemoSize) -> T.StudySpec:
    """The region's shipped study file, scaled down to the demo's budget (batch size fixed, no pruning)."""
    spec = T.load_study_spec(STUDIES / f"{dataset}.toml")
    return dataclasses.replace(
        spec, n_trials=size.trials, pruner={"name": "none"}, sampler={**spec.sampler, "n_startup_trials": size.trials},
        training={**spec.training, "epochs": size.epochs, "patience": size.epochs, "batch_size": size.batch_size},
        search=tuple(p for p in spec.search if p.name != "batch_size"))


def run_demo(workdir: Path, *, quick: bool = False, seed: int = 0, size: DemoSize | None = None) -> dict:
    size = size or SIZES["quick" if quick else "default"]
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _in(workdir):
        tracking.configure(None)
        stores: dict[str, PolarityStore] = {}
        for k, region in enumerate(REGIONS):
            raw, store_path = workdir / "raw" / region, workdir / "stores" / region
            if not (raw / "truth.csv").exists():
                write_region(region, size.n_events, raw, seed=seed + k)
            stores[region] = PolarityStore(store_path) if (store_path / "manifest.json").exists() else \
                prepare_store(region, raw, store_path, seed=seed)[0]
            console.print(f"[bold]{region}[/]: {len(stores[region])} traces in {store_path}")

        studies = {}
        for region, store in stores.items():
            spec = _study_spec(region, size)
            remaining = size.trials - _trials_so_far(spec)  # a rerun of the demo adds no trials
            done = T.optimize(spec, "pd", store, None, n_trials=remaining, seed=seed) if remaining > 0 else \
                T.open_study(spec, "pd", store, T.open_storage(None))[0]
            T.summarise(done)
            studies[region] = {"best_value": done.best_value, "best_params": done.best_params}
            console.print(f"study {spec.study_name('pd')}: best dev macro-F1 {done.best_value:.3f} "
                          f"{done.best_params}")

        base = TrainConfig(epochs=size.epochs, batch_size=size.batch_size, patience=size.epochs, seed=seed)
        result = run_transfer(["pd", "ross"], stores, base, n_boot=size.n_boot, seed=seed, run_name="demo")

        champions = {}
        for region, store in stores.items():
            for model in ("pd", "ross"):
                decision = registry.promote(model, region, run_id=result.training_runs[(model, region)],
                                            n_boot=size.n_boot, seed=seed)
                champions[f"{model}-{region}"] = decision
    minutes = (time.perf_counter() - started) / 60
    summary = {"workdir": str(workdir), "minutes": minutes, "studies": studies, "transfer": result,
               "champions": champions,
               "mlflow_ui": f"mlflow ui --backend-store-uri sqlite:///{workdir / 'mlflow.db'}",
               "optuna_dashboard": f"optuna-dashboard {workdir / T.DEFAULT_STORAGE}"}
    _print_summary(summary)
    return summary


def _trials_so_far(spec: T.StudySpec) -> int:
    """Trials already in this region's study."""
    import optuna

    try:
        return len(optuna.load_study(study_name=spec.study_name("pd"), storage=T.open_storage(None)).trials)
    except KeyError:
        return 0


def _print_summary(summary: dict) -> None:
    console.rule("attpd demo: summary")
    console.print(markdown_report(summary["transfer"]), soft_wrap=True, highlight=False)
    console.print("champions (registered model -> version, decision):")
    for key, d in summary["champions"].items():
        version = registry.alias_version(d.name, registry.CHAMPION)
        console.print(f"  {d.name}@champion -> v{version.version if version else '?'} "
                      f"(candidate test {d.metric} {d.candidate_score:.3f}; {d.reason})")
    console.print(f"finished in {summary['minutes']:.1f} min; everything is in {summary['workdir']}")
    console.print(f"browse the runs:    {summary['mlflow_ui']}")
    console.print(f"browse the studies: {summary['optuna_dashboard']}")


