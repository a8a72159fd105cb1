"""The main job end to end on embedded defaults: the user's day on four synthetic regions.

Per region: synthesise -> prepare a store -> for PD and for Ross, an Optuna study (trial 0 is the untuned
configuration) -> trial 0's model (the untuned configuration) promoted through the gate (it must beat the
majority-class baseline) -> the best trial's model promoted against that champion by the paired rule. Each trial
keeps its model, so no configuration is trained twice: a promoted model is the trial's own (a configuration is
trained as a normal run only when no trial holds it, e.g. a study of an earlier version). Then the transfer
matrices of the champions' configurations (their runs are reused, nothing is retrained), each champion's
predictions for its region's raw files (with SKHASH's input set), the closure from polarities to focal
mechanisms (true signs, analyst labels, PD and Ross through SKHASH, Kagan angles to the true mechanisms of the
test events; the quick demo does the region with the most test events), and a summary a seismologist reads at a glance: per region PD vs Ross champion test macro-F1 and sign accuracy
with 95 % event-bootstrap intervals, the promotion decisions, which model transfers best, and which gives the
better mechanisms.

Everything lands in ``--workdir``: raw data, stores, ``mlflow.db`` + ``mlruns/``, ``optuna.journal`` and
``summary.md``. MLflow goes to the workdir's own database unless a tracking URI is given explicitly (never
``MLFLOW_TRACKING_URI``: the demo must not write runs and champion aliases into a user's server).

Why ``bn_momentum = 0.9`` (a documented hyper-parameter; the models' default stays the original 0.99): a demo
run takes ~100 steps per epoch and a few epochs. With momentum 0.99 BatchNormalization's moving statistics
need ~450 steps to forget their initial values, and until then the dev predictions collapse to one class
(measured on INSTANCE-like data, 150 events, batch 32: PD dev macro-F1 0.30 for four epochs, then 0.72; with
0.9: 0.80 after the first epoch). On the full data sets (thousands of steps per epoch) 0.99 is right.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench import plots, registry, sim_to_real, tracking
from attpd_bench.focal import closure
from attpd_bench import tune as T
from attpd_bench.console import console, set_verbosity
from attpd_bench.data.prepare import prepare_store
from attpd_bench.data.store import MANIFEST_FILE, PolarityStore
from attpd_bench.data.synth import PROFILES, REGIONS, SYNTH_MARKER, TRUTH_FILE, write_region
from attpd_bench.errors import ConfigError
from attpd_bench.evaluate import evaluate_model
from attpd_bench.models import load_model
from attpd_bench.models.first_motion import FIRST_MOTION
from attpd_bench.predict import predict_and_log
from attpd_bench.train import TrainConfig, find_finished_run, train_and_log
from attpd_bench.transfer import markdown_report, run_transfer

MODELS = ("pd", "ross")
# How the demo's stores keep the picks its synthetic analyst never read (`attpd data prepare --unread`), chosen
# on the dev event (RESULTS.md, "Not-read picks"): kept unknown (the published sets' way) the models learn to
# abstain on clear onsets (PD on a 60-event Hi-net region: dev balanced accuracy 0.24, coverage 0.21); dropped,
# 0.85 / 0.97; labelled as the analyst would have read them, 0.88 / 1.00, and the most training traces.
DEMO_UNREAD = "read"
SUMMARY_FILE = "summary.md"
STUDIES = Path(__file__).resolve().parent.parent / "studies"  # the repository's study files
DEFAULT_JOBS = 2  # studies side by side (see run_studies): a fixed number, so that a machine's core count does
# not change the numbers


@dataclass(frozen=True)
class DemoSize:
    n_events: int  # per region
    trials: int  # per study (trial 0 is the untuned configuration)
    epochs: int  # per training run (and per trial)
    patience: int
    batch_size: int
    n_boot: int
    bn_momentum: float = 0.9  # see the module docstring
    regions: tuple[str, ...] = REGIONS


# events per region: the generator picks large events at up to 3x more stations and samples magnitudes at
# b = 0.5 (synth.MAGNITUDE_B_VALUE), 30-55 traces per event, so 60 events give 1,900-3,100 traces per region and a
# dev and a test split of 6 events each (15 test events for SCSN). Measured on a 2-core AMD EPYC (2026-12-06):
# 40 events took 9.4 min and left dev splits of 4 events, whose macro-F1 swung by +-0.3 from epoch to epoch; 60
# events took 11.4 min (the budget is 15). The quick demo: 24 events, 3.4 min (at 16, 2.9 min, four of its eight
# models failed the promotion gate; at 24, three; the budget is 5). On a machine 1.9x slower (2026-12-07), with the
# studies two at a time: 18.7 and 5.7 min (both budgets missed there)
SIZES = {"quick": DemoSize(n_events=24, trials=2, epochs=3, patience=1, batch_size=32, n_boot=300),
         "default": DemoSize(n_events=60, trials=3, epochs=5, patience=2, batch_size=32, n_boot=1000)}


@dataclass
class ModelOutcome:
    """One (region, model): its study and the promotion decisions of its untuned and tuned runs."""

    study: str
    best_trial: int
    best_value: float
    best_params: dict
    decisions: list[registry.Decision]
    champion_config: TrainConfig  # the untuned one while there is no champion
    evaluation: dict = field(default_factory=dict)  # champion's test metrics and 95 % intervals


@contextmanager
def _in(folder: Path):
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def study_spec(dataset: str, size: DemoSize) -> T.StudySpec:
    """The region's shipped study file at the demo's budget: batch size and BatchNormalization momentum fixed,
    no pruning (too few trials to prune against)."""
    spec = T.load_study_spec(STUDIES / f"{dataset}.toml")
    return dataclasses.replace(
        spec, n_trials=size.trials, pruner={"name": "none"},
        sampler={**spec.sampler, "n_startup_trials": size.trials},
        training={**spec.training, "epochs": size.epochs, "patience": size.patience,
                  "batch_size": size.batch_size, "bn_momentum": size.bn_momentum},
        search=tuple(p for p in spec.search if p.name != "batch_size"))


def _trained(store: PolarityStore, config: TrainConfig, run_name: str, tags: dict) -> str:
    """The finished run of this configuration on this store (a study's trial or a training run), trained now if
    there is none."""
    found = find_finished_run(store, config)
    if found is not None:
        return found.info.run_id
    return train_and_log(store, config, run_name=run_name, tags=tags).run_id


def _report_decision(d: registry.Decision) -> None:
    console.print(f"  promote {d.name} run {d.candidate_run_id[:8]}: {d.alias} ({d.reason})", highlight=False)


def run_studies(stores: dict[str, PolarityStore], size: DemoSize, seed: int, *, jobs: int, tracking_uri: str) -> None:
    """Every (region, model) study's trials, ``jobs`` studies at a time in processes of one TensorFlow thread
    each, the largest first; with ``jobs`` 1, nothing here (each study runs in :func:`tune_and_promote`).

    Why processes: at the demo's batch of 32 one TensorFlow process keeps about 1.25 of two cores busy (small
    convolutions; measured with ``time``: 42 s of CPU in 37 s); two single-threaded studies side by side keep
    both. A study's trials stay in one process, in order, with its seed, so the numbers do not depend on which
    process ran it or on the other study; they do depend on ``jobs`` (one thread or TensorFlow's default)."""
    if jobs == 1:
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    tasks = sorted(((region, model) for region in stores for model in MODELS),
                   key=lambda task: -len(stores[task[0]]) * (2 if task[1] == "pd" else 1))  # PD costs about 2 Ross
    # the initializer lives in a module without TensorFlow: it quiets TensorFlow's import (as in this process,
    # ATTPD_VERBOSE inherited) before the first task's unpickling imports it
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=set_verbosity, initargs=(False,)) as pool:
        futures = [pool.submit(_study_trials, region, model, str(stores[region].path), size, seed,
                               workdir=str(Path.cwd()), tracking_uri=tracking_uri)
                   for region, model in tasks]
        wait_or_cancel(pool, futures)


def wait_or_cancel(pool, futures) -> None:
    """Every future's result in order; the first failure (or Ctrl-C) cancels those not yet started and is
    raised, so a failed study stops the demo with its own error without waiting for the rest."""
    try:
        for future in futures:
            future.result()
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise


def _study_trials(region: str, model: str, store_path: str, size: DemoSize, seed: int, *, workdir: str,
                  tracking_uri: str) -> None:
    """One study in a worker process of :func:`run_studies`."""
    from attpd_bench.train import use_one_thread

    use_one_thread()
    store = PolarityStore(Path(store_path))
    os.chdir(workdir)  # the Optuna journal is the workdir's
    tracking.configure(tracking_uri)  # the database exists: run_demo made it before the studies
    complete_study(study_spec(region, size), model, store, size, seed)


def complete_study(spec: T.StudySpec, model: str, store: PolarityStore, size: DemoSize, seed: int):
    """The demo's study (``spec``) of ``model`` with the demo's number of trials (a rerun adds none)."""
    remaining = size.trials - T.trials_so_far(spec, model)
    return T.optimize(spec, model, store, None, n_trials=max(remaining, 0), seed=seed)


def tune_and_promote(region: str, model: str, store: PolarityStore, size: DemoSize, seed: int) -> ModelOutcome:
    """Study -> trial 0's (untuned) model promoted through the gate -> the best trial's model promoted against
    it, unless the best trial is trial 0."""
    spec = study_spec(region, size)
    study = complete_study(spec, model, store, size, seed)
    T.summarise(study)
    console.print(f"study {study.study_name}: best dev macro-F1 {study.best_value:.3f} (trial "
                  f"{study.best_trial.number}) {study.best_params}", highlight=False)
    untuned, tuned = T.default_config(spec, model, seed), T.best_config(spec, model, study, seed)
    tags = {"optuna_study": study.study_name}
    untuned_run = _trained(store, untuned, f"{model}-{region}-untuned", {**tags, "demo_role": "untuned"})
    decisions = [registry.promote(model, region, run_id=untuned_run, n_boot=size.n_boot, seed=seed)]
    _report_decision(decisions[-1])
    tuned_run = _trained(store, tuned, f"{study.study_name}-best",
                         {**tags, "optuna_best_trial": str(study.best_trial.number), "demo_role": "tuned"})
    if tuned_run != untuned_run:  # the best trial is not the untuned configuration: a second candidate
        decisions.append(registry.promote(model, region, run_id=tuned_run, n_boot=size.n_boot, seed=seed))
        _report_decision(decisions[-1])
    name = registry.registered_name(model, region)
    champion = registry.alias_version(name, registry.CHAMPION)
    outcome = ModelOutcome(study.study_name, study.best_trial.number, study.best_value, study.best_params,
                           decisions, tuned if champion is not None and champion.run_id == tuned_run else untuned)
    if champion is not None:
        evaluation = evaluate_model(load_model(registry.model_uri(name)), store, "test", n_boot=size.n_boot,
                                    seed=seed)
        outcome.evaluation = {"version": str(champion.version), **{k: evaluation.report[k] for k in (
            "macro_f1", "sign_accuracy", "sign_coverage", "accuracy")},
            **{f"{k}_ci": evaluation.intervals[k] for k in ("macro_f1", "sign_accuracy")},
            "predicted_classes": int(np.unique(evaluation.predictions).size)}
    return outcome


def run_demo(workdir: Path, *, quick: bool = False, seed: int = 0, size: DemoSize | None = None,
             tracking_uri: str | None = None, jobs: int = DEFAULT_JOBS,
             real_data: Path = sim_to_real.REAL_DATA) -> dict:
    """The whole demo in ``workdir``; ``jobs`` > 1 runs that many studies side by side (see :func:`run_studies`);
    the champions are scored on every labelled real case in ``real_data`` (:func:`sim_to_real.real_cases`)."""
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    cases = sim_to_real.real_cases(real_data)  # a wrong folder or an unusable case is refused before hours of work
    real_set = sim_to_real.read_cases(cases) if cases else None
    size = size or SIZES["quick" if quick else "default"]
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _in(workdir):
        uri = tracking.configure(tracking_uri or f"sqlite:///{workdir / 'mlflow.db'}")
        stores: dict[str, PolarityStore] = {}
        for region in size.regions:
            store_path = workdir / "stores" / region
            stores[region] = synthetic_store(region, size.n_events, workdir / "raw" / region, store_path,
                                             region_seed=seed + REGIONS.index(region), split_seed=seed)
            console.print(f"[bold]{region}[/]: {len(stores[region])} traces in {store_path}")

        run_studies(stores, size, seed, jobs=jobs, tracking_uri=uri)
        outcomes: dict[tuple[str, str], ModelOutcome] = {}
        for region, store in stores.items():
            for model in MODELS:
                outcomes[(model, region)] = tune_and_promote(region, model, store, size, seed)

        base = TrainConfig(epochs=size.epochs, batch_size=size.batch_size, patience=size.patience, seed=seed)
        configs = {key: o.champion_config for key, o in outcomes.items()}
        transfer = run_transfer([*MODELS, FIRST_MOTION], stores, base, n_boot=size.n_boot, seed=seed,
                                run_name="demo", configs=configs)
        baseline = {region: baseline_evaluation(store, size, seed) for region, store in stores.items()}
        predictions = predict_with_champions(workdir, list(stores))
        pickers = {name: load_model(uri) for name, uri in real_data_pickers(list(stores)).items()} if cases else {}
        real = sim_to_real.score_cases(pickers, real_set, seed=seed) if cases else {}
        curves = sim_to_real.risk_coverage_curves(pickers, real_set) if cases else {}
        mechanisms = mechanisms_with_champions(workdir, stores, [_most_test_events(stores)] if quick else
                                               list(stores), n_boot=size.n_boot, seed=seed)
    minutes = (time.perf_counter() - started) / 60
    summary = {"workdir": str(workdir), "minutes": minutes, "size": size,
               "outcomes": outcomes, "transfer": transfer, "stores": stores, "predictions": predictions,
               "mechanisms": mechanisms, "baseline": baseline, "real": real, "real_cases": cases,
               "real_data": Path(real_data),
               "mlflow_ui": f"mlflow ui --backend-store-uri {uri}",
               "optuna_dashboard": f"optuna-dashboard {workdir / T.DEFAULT_STORAGE}"}
    text = summary_markdown(summary, quick=quick)
    (workdir / SUMMARY_FILE).write_text(text)
    log = tracking.RunLogger(transfer.parent_run_id)
    log.log_text(text, SUMMARY_FILE)
    if curves:
        log.log_figure(plots.risk_coverage_figure(curves, title="dev: the champions on the real cases of "
                                                                f"{real_data}"), "figures/risk_coverage_dev.png")
    console.rule("attpd demo: summary")
    console.print(text, soft_wrap=True, highlight=False, markup=False)
    console.print(f"finished in {minutes:.1f} min; the summary is in {workdir / SUMMARY_FILE} and in the MLflow "
                  f"run {transfer.parent_run_id} (attpd/transfer)")
    return summary


def baseline_evaluation(store: PolarityStore, size: DemoSize, seed: int) -> dict:
    """The first-motion baseline on a region's test split, in the champions' terms."""
    evaluation = evaluate_model(load_model(FIRST_MOTION), store, "test", n_boot=size.n_boot, seed=seed)
    return {**{k: evaluation.report[k] for k in ("macro_f1", "sign_accuracy", "sign_coverage", "accuracy")},
            **{f"{k}_ci": evaluation.intervals[k] for k in ("macro_f1", "sign_accuracy")},
            "predicted_classes": int(np.unique(evaluation.predictions).size)}


def real_data_pickers(regions: list[str]) -> dict[str, str]:
    """Every champion of the demo (the challenger where a model has none) and the first-motion baseline, for the
    labelled real cases."""
    pickers = {}
    for region in regions:
        for label, uri in polarity_sources(region).items():
            if uri not in ("true", "analyst", FIRST_MOTION):
                pickers[f"{label} ({region})"] = uri
    return {**pickers, FIRST_MOTION: FIRST_MOTION}


def synthetic_store(region: str, n_events: int, raw: Path, store_path: Path, *, region_seed: int,
                    split_seed: int, unread: str = DEMO_UNREAD) -> PolarityStore:
    """A synthetic region and its store, each made only if missing (a rerun reuses them), and remade when the
    region on disk is not the one asked for (another size, seed or generator profile) or the store keeps the
    unread picks another way (``unread``, see ``DEMO_UNREAD``)."""
    marker = raw / SYNTH_MARKER
    if marker.exists():
        made = json.loads(marker.read_text())
        wanted = {"n_events": n_events, "seed": region_seed,
                  "profile": json.loads(json.dumps(dataclasses.asdict(PROFILES[region])))}
        if any(made.get(key) != value for key, value in wanted.items()):
            console.print(f"{raw}: holds {made.get('n_events')} events of seed {made.get('seed')} (or another "
                          f"generator), not {n_events} of seed {region_seed}: making it and its store again")
            shutil.rmtree(raw)  # both carry the suite's markers: the demo made them
            if (store_path / MANIFEST_FILE).exists():
                shutil.rmtree(store_path)
    if not (raw / TRUTH_FILE).exists():
        write_region(region, n_events, raw, seed=region_seed)
    if (store_path / MANIFEST_FILE).exists():
        store = PolarityStore(store_path)
        if store.manifest.get("unread", "keep") == unread:
            return store
        shutil.rmtree(store_path)  # the demo made it (it holds the suite's manifest)
    return prepare_store(region, raw, store_path, seed=split_seed, unread=unread)[0]


def predict_with_champions(workdir: Path, regions: list[str]) -> pd.DataFrame:
    """`attpd predict` of each region's raw published files with its champions (as a user would predict their
    own catalogue), with the SKHASH polarity export: one run each in ``attpd/predict``."""
    rows = []
    for region in regions:
        for model in MODELS:
            name = registry.registered_name(model, region)
            if registry.alias_version(name, registry.CHAMPION) is None:
                continue
            out = workdir / "predictions" / f"{model}-{region}.csv"
            out.parent.mkdir(exist_ok=True)
            skhash = out.with_suffix(".skhash")
            report = predict_and_log(registry.model_uri(name), workdir / "raw" / region, out, dataset=region,
                                     skhash_out=skhash, overwrite=True)  # a rerun replaces its own tables
            rows.append({"model": registry.model_uri(name), "input": f"raw/{region}", "traces": report.written,
                         "skipped": len(report.skipped), "table": f"predictions/{out.name}",
                         "SKHASH picks": f"{report.skhash_picks} in predictions/{skhash.name}/"})
    console.print(f"predicted {len(rows)} catalogues with the champions into {workdir / 'predictions'}")
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


def mechanisms_with_champions(workdir: Path, stores: dict[str, PolarityStore], regions: list[str], *,
                              n_boot: int, seed: int) -> dict:
    """`attpd mechanisms` of each region's test events from its true signs, its analyst labels and its PD and
    Ross champions (the challenger where a model has no champion): one run each in attpd/mechanisms/<region>."""
    tables, versus = [], {}
    for region in regions:
        table, versus[region] = closure.compare_sources(stores[region], polarity_sources(region),
                                                        workdir / "mechanisms" / region, n_boot=n_boot, seed=seed,
                                                        overwrite=True)  # the demo's own workdir: a rerun redoes
        tables.append(table)
    console.print(f"mechanisms of the test events of {len(regions)} region(s) in {workdir / 'mechanisms'}")
    return {"table": pd.concat(tables, ignore_index=True), "versus": versus}


def polarity_sources(region: str) -> dict[str, str]:
    """Label -> polarity source of the closure: true signs, analyst labels, and each model's champion (its
    challenger where it has none)."""
    sources = {"true signs": "true", "analyst labels": "analyst", FIRST_MOTION: FIRST_MOTION}
    for model in MODELS:
        name = registry.registered_name(model, region)
        alias = next((a for a in (registry.CHAMPION, registry.CHALLENGER)
                      if registry.alias_version(name, a) is not None), None)
        if alias is not None:
            sources[f"{model} {alias}"] = registry.model_uri(name, alias)
    return sources


def _most_test_events(stores: dict[str, PolarityStore]) -> str:
    """The region whose test split has the most events (SCSN's keeps its published 30 %)."""
    return max(stores, key=lambda r: stores[r].metadata.loc[stores[r].rows("test"), "source_id"].nunique())


def mechanisms_markdown(mechanisms: dict) -> str:
    table = closure.markdown_rows(mechanisms["table"]).drop(columns=["SKHASH s"]).set_index("region")
    lines = [table.to_markdown(), "",
             "PD minus Ross, paired by event (negative: PD's mechanisms are closer to the truth):", ""]
    lines += [f"- {region}: {closure.paired_text(v)}" for region, v in mechanisms["versus"].items()]
    return "\n".join(lines)


def _interval(value: float, ci) -> str:
    if value is None or not np.isfinite(value):
        return "undefined"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def champions_table(outcomes: dict[tuple[str, str], ModelOutcome], regions, baseline: dict) -> pd.DataFrame:
    rows = []
    for region in regions:
        row = {"region": region}
        for model in (*MODELS, FIRST_MOTION):
            e = baseline[region] if model == FIRST_MOTION else outcomes[(model, region)].evaluation
            if not e:
                row[f"{model} macro-F1"] = row[f"{model} sign acc. (coverage)"] = "no champion"
                continue
            row[f"{model} macro-F1"] = _interval(e["macro_f1"], e["macro_f1_ci"]) + (
                f" (predicts {e['predicted_classes']} of 3 classes)" if e["predicted_classes"] < 3 else "")
            row[f"{model} sign acc. (coverage)"] = (f"{_interval(e['sign_accuracy'], e['sign_accuracy_ci'])} "
                                                    f"({e['sign_coverage']:.2f})")
        rows.append(row)
    return pd.DataFrame(rows).set_index("region")


def decisions_table(outcomes: dict[tuple[str, str], ModelOutcome]) -> pd.DataFrame:
    rows = []
    for (model, region), o in outcomes.items():
        roles = ("untuned (trial 0)", f"tuned (trial {o.best_trial})") if len(o.decisions) > 1 else \
            ("untuned = best trial (trial 0)",)
        for role, d in zip(roles, o.decisions):
            rows.append({"registered model": d.name, "candidate": role,
                         f"{d.split} macro-F1 (decides)": f"{d.candidate_score:.3f}",
                         "decision": d.alias, "reason": d.reason})
    return pd.DataFrame(rows).set_index("registered model")


def summary_markdown(summary: dict, *, quick: bool) -> str:
    outcomes, transfer = summary["outcomes"], summary["transfer"]
    size: DemoSize = summary["size"]
    regions = list(summary["stores"])
    command = "attpd demo" + (" --quick" if quick else "")
    studies = pd.DataFrame([{"study": o.study, "best trial": o.best_trial, "best dev macro-F1": f"{o.best_value:.3f}",
                             "best parameters": ", ".join(f"{k}={_short(v)}" for k, v in o.best_params.items())}
                            for o in outcomes.values()]).set_index("study")
    parts = [
        f"# attpd demo summary (`{command}`)",
        f"{len(regions)} synthetic regions, {size.n_events} events each; per region and model an Optuna study "
        f"of {size.trials} trials (trial 0 = the untuned configuration), {size.epochs} epochs at most per run "
        f"(batch {size.batch_size}, BatchNormalization momentum {size.bn_momentum}), early stopping on dev "
        f"macro-F1; {size.n_boot} event-bootstrap replicates.",
        "## Champions on their own region's test split (95 % event-bootstrap intervals; first-motion: the "
        "untrained baseline, the sign of the first clear excursion after P)",
        champions_table(outcomes, regions, summary["baseline"]).to_markdown(),
        "## Sim to real: the champions on real recordings",
        sim_to_real.markdown(summary["real"], summary["real_cases"]) if summary["real"] else
        f"No labelled real case in `{summary['real_data']}` (folders of waveforms/ and picks.csv).",
        "## Promotion decisions (on the dev split; gate: beat the majority-class baseline; then the paired rule "
        "against the champion; the champions' test scores above were not used to choose them)",
        decisions_table(outcomes).to_markdown(),
        "## Studies",
        studies.to_markdown(),
        "## Transfer of the champions' configurations",
        transfer_verdict(transfer),
        markdown_report(transfer).strip(),
        "## Predictions of the champions (`attpd predict`, runs in attpd/predict)",
        summary["predictions"].to_markdown() if len(summary["predictions"]) else "no champion to predict with",
        "## Focal mechanisms from the polarities (`attpd mechanisms`, SKHASH, test events with >= 8 "
        "polarities; runs in attpd/mechanisms/<region>)",
        mechanisms_markdown(summary["mechanisms"]),
        "## Where everything is",
        f"- workdir `{summary['workdir']}`; browse the runs: `{summary['mlflow_ui']}`\n"
        f"- browse the studies: `{summary['optuna_dashboard']}`",
    ]
    return "\n\n".join(parts) + "\n"


def transfer_verdict(transfer) -> str:
    """Which model carries best to the other regions (mean out-of-domain macro-F1, no winner of a tie at the
    printed precision), and the paired cell-by-cell count."""
    out = transfer.summary.loc[list(MODELS)]
    best = out["macro_f1_out_of_domain"].idxmax()
    other = [m for m in MODELS if m != best][0]
    best_mean, other_mean = (f"{out.loc[m, 'macro_f1_out_of_domain']:.3f}" for m in (best, other))
    verdict = (f"Transfers best on average: **{best}**" if best_mean != other_mean else
               f"Transfers equally well on average: **{best}** and **{other}**")
    cells = transfer.difference[transfer.difference["source"] != transfer.difference["target"]]
    a, b = cells["model_a"].iloc[0], cells["model_b"].iloc[0]
    n_a, n_b = int((cells["ci_low"] > 0).sum()), int((cells["ci_high"] < 0).sum())
    return (f"{verdict} (mean out-of-domain macro-F1 {best_mean} vs {other} {other_mean}; "
            f"in-domain {out.loc[best, 'macro_f1_in_domain']:.3f} vs {out.loc[other, 'macro_f1_in_domain']:.3f}). "
            f"Cell by cell ({a} - {b} macro-F1, 95 % paired event-bootstrap interval), of the {len(cells)} "
            f"out-of-domain cells {n_a} favour {a}, {n_b} favour {b} and {len(cells) - n_a - n_b} are inconclusive.")


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)

