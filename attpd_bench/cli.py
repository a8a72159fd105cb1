"""The `attpd` command line. It only parses options and delegates; every error is one line and exit 1."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shlex
import signal
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from attpd_bench import tables
from attpd_bench.console import console, err_console, progress, set_verbosity
from attpd_bench.errors import AttpdError, ConfigError
from attpd_bench.models import MODEL_NAMES
from attpd_bench.settings import REVERSAL_ALPHA, REVERSAL_MIN_EVENTS

# help texts are plain text: with rich markup on, "[the study file's n_trials]" vanished as a markup tag and left
# "Trials to add ." behind
app = typer.Typer(help="Benchmark deep-learning P-wave first-motion polarity models (PD vs Ross).",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False, rich_markup_mode=None)
data_app = typer.Typer(help="Synthesise, prepare and inspect data sets.", no_args_is_help=True,
                       rich_markup_mode=None)
app.add_typer(data_app, name="data")
tune_app = typer.Typer(help="Optuna studies: run trials (default) or `tune show` the results.",
                       rich_markup_mode=None)
app.add_typer(tune_app, name="tune")
audit_app = typer.Typer(help="Find what poisons a polarity catalogue: mislabelled picks, reversed stations.",
                        no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(audit_app, name="audit")


@app.callback()
def options(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show TensorFlow's, Optuna's and "
                                                  "the libraries' own log lines and warnings too.")] = False):
    set_verbosity(verbose)


GROUP_PREFIX = {id(data_app): "data ", id(tune_app): "tune ", id(audit_app): "audit "}


def command(group: typer.Typer, name: str, **kwargs):
    """Register a command whose AttpdError becomes 'error: ...' on stderr and exit code 1 (no traceback),
    and which tells MLflow runs the exact command line (``invocation.invoked_command``)."""

    def decorate(fn):
        @functools.wraps(fn)
        def run(**k):
            return _run_command(f"{GROUP_PREFIX.get(id(group), '')}{name}", fn, **k)

        return group.command(name, **kwargs)(run)

    return decorate


def _run_command(name: str, fn, **options):
    from attpd_bench.invocation import invoked_command

    text = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in options.items() if value is not None)
    token = invoked_command.set(f"attpd {name} {text}".strip())
    main = threading.current_thread() is threading.main_thread()  # only the main thread may set a handler
    _COMMAND_PID[0] = os.getpid()
    previous = signal.signal(signal.SIGTERM, _terminated) if main else None
    try:
        return fn(**options)
    except AttpdError as exc:
        # the message as written: no markup, no emoji codes (":a:" of "sac:a:x" is not an emoji)
        err_console.print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (what a batch scheduler sends) through _terminated
        err_console.print(f"interrupted ({str(exc) or 'Ctrl-C'}): runs in progress end KILLED (tag end_reason="
                          f"interrupted)", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(130) from None
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        invoked_command.reset(token)


def _terminated(signum, frame):
    """SIGTERM as an interruption: the runs in progress end KILLED (tracking.run), not RUNNING for good. A forked
    worker (a multiprocessing pool, e.g. cleanlab's) inherits the handler, and its pool ends it with SIGTERM: there
    it dies as SIGTERM means, or the pool waits for it forever."""
    if os.getpid() != _COMMAND_PID.get(0):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise KeyboardInterrupt("SIGTERM")


_COMMAND_PID: dict[int, int] = {}  # the process that runs the command (and installed the handler)


# ------------------------------------------------------------------------------------------------ data
@command(data_app, "synth")
def data_synth(
    region: Annotated[str, typer.Option(help="Region profile and published layout: ins, hinet, scsn or pnw.")],
    out: Annotated[Path, typer.Option(help="Folder to write the raw files and truth.csv into.")],
    n_events: Annotated[int, typer.Option(help="Number of earthquakes; each is seen at many stations.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same files.")] = 0,
    layout: Annotated[str, typer.Option(help="INSTANCE only: 'native' (data/<trace_name>) or 'seisbench' "
                                             "(buckets).")] = "native",
    reversed_station_rate: Annotated[Optional[float], typer.Option(
        help="Share of stations whose vertical channel is wired reversed, 0-1 (to score `attpd audit "
             "reversals` on enough of them) [the region profile's, 0.5-1.5 %]")] = None,
):
    """Write a synthetic region in its published layout, with a per-trace ground-truth table."""
    from attpd_bench.data.synth import write_region

    with progress(f"synth {region}") as update:
        truth = write_region(region, n_events, out, seed=seed, layout=layout, on_batch=update,
                             reversed_station_rate=reversed_station_rate)
    written = truth[truth["written"]]
    counts = written["analyst_label"].value_counts().reindex([0, 1, 2], fill_value=0).to_numpy()
    console.print(f"wrote {len(written)} traces of {n_events} events to {out} "
                  f"(up {counts[0]}, down {counts[1]}, unknown {counts[2]}); truth in {out / 'truth.csv'}")


Waveforms = Annotated[Optional[list[str]], typer.Option(help="Your recordings: files, folders or globs ObsPy reads "
                                                              "(miniSEED, SAC, ...); repeatable.")]
Picks = Annotated[Optional[str], typer.Option(help="P picks of --waveforms: QuakeML, a CSV (trace_id or station, "
                                                   "p_time, [event_id, polarity]) or sac:a / sac:t1 (SAC header "
                                                   "markers).")]
# SKHASH's geometry where the input lacks it: one option block for predict, mechanisms and audit reversals
Stations = Annotated[Optional[Path], typer.Option(help="Station coordinates where the input has none: StationXML "
                                                       "or CSV (network,station,location,channel,latitude,"
                                                       "longitude,elevation).")]
Catalog = Annotated[Optional[Path], typer.Option(help="Origins (event_id,time,latitude,longitude,depth) where the "
                                                      "input has none.")]
VelocityModel = Annotated[Optional[Path], typer.Option(help="depth,vp file for SKHASH, or a region's model (ins, "
                                                            "hinet, scsn, pnw) [a synthetic region's own].")]
# the default is metrics.DEFAULT_MIN_CONFIDENCE (0), written out so that --help shows it without importing NumPy
MinConfidence = Annotated[float, typer.Option(help="Abstain (unknown) where the up or down probability is below "
                                                   "this (0: the most probable class; chosen on dev).")]
Component = Annotated[Optional[str], typer.Option(help="Channel (or its last letter) to read [the vertical: Z or "
                                                       "U].")]


@command(data_app, "prepare")
def data_prepare(
    dataset: Annotated[str, typer.Option(help="Published layout of --source (ins, hinet, scsn, pnw), or the "
                                              "name of your data set with --waveforms (a-z, 0-9, -).")],
    out: Annotated[Path, typer.Option(help="Canonical store folder to create.")],
    source: Annotated[Optional[Path], typer.Option(help="Folder (or file) of the published data set.")] = None,
    waveforms: Waveforms = None,
    picks: Picks = None,
    component: Component = None,
    seed: Annotated[int, typer.Option(help="Seed of the split (use 7 with --split-mode original to match "
                                           "the original code).")] = 0,
    split_mode: Annotated[str, typer.Option(help="'event': grouped by event (default); 'original': the "
                                                 "original random 80/20 trace split.")] = "event",
    chunk_size: Annotated[int, typer.Option(help="Traces read and filtered per chunk (bounds memory).")] = 512,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing store.")] = False,
    unread: Annotated[str, typer.Option(help="A synthetic region's picks never read for polarity (truth.csv): "
                                             "keep (unknown, as the published sets), drop, or read (the label "
                                             "its analyst would have written).")] = "keep",
):
    """Build a canonical store (SeisBench format, event split, fingerprint) from a published layout."""
    from attpd_bench.data.prepare import check_dataset_name, prepare_store

    if waveforms:
        check_dataset_name(dataset)
    recordings = _input_or_recordings(source, waveforms, picks, component, option="--source",
                                      what="a published data set")
    reader = None if isinstance(recordings, Path) else recordings
    with progress(f"prepare {dataset}") as update:
        store, report = prepare_store(dataset, source, out, seed=seed, split_mode=split_mode,
                                      chunk_size=chunk_size, overwrite=overwrite, reader=reader, unread=unread,
                                      on_chunk=update)
    console.print(f"store {store.path}: {report.written} traces written of {report.read} read, "
                  f"fingerprint {store.fingerprint[:16]}")
    if report.skipped:
        console.print(tables.skipped(report.skipped, store.path / "skipped.csv"))


@command(data_app, "info")
def data_info(
    store: Annotated[Path, typer.Argument(help="Canonical store folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
):
    """Traces per split and class, events, stations, SNR and fingerprint of a store."""
    from attpd_bench.data.store import SPLITS, PolarityStore

    summary = PolarityStore(store).summary()
    if as_json:
        console.print_json(json.dumps(summary))
        return
    console.print(tables.store_summary(summary, SPLITS))
    snr = summary["snr_db"]
    console.print(f"stations {summary['stations']}; SNR (dB) known for {snr['known']} traces, median "
                  f"{snr['median']}, 10-90% {snr['p10']} to {snr['p90']}; split {summary['split_mode']} "
                  f"seed {summary['seed']}")
    console.print(f"fingerprint {summary['fingerprint']}")
    if summary["skipped"]:
        console.print("skipped at prepare: " + ", ".join(f"{k}: {v}" for k, v in summary["skipped"].items()))


# ------------------------------------------------------------------------------------------------ train
SkhashBase = Annotated[Optional[Path], typer.Option(help="Folder a --skhash-control file's relative paths start "
                                                          "from, as when SKHASH runs there [the current folder].")]
TrackingUri = Annotated[Optional[str], typer.Option(help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, "
                                                         "else sqlite:///mlflow.db here).")]
StoreOption = Annotated[Path, typer.Option(help="Canonical store (from `attpd data prepare`).")]
Epochs = Annotated[int, typer.Option(help="Maximum epochs.")]
BatchSize = Annotated[int, typer.Option(help="Batch size.")]
LearningRate = Annotated[float, typer.Option(help="Adam learning rate.")]
Patience = Annotated[int, typer.Option(help="Early-stopping patience (epochs without improvement on dev).")]
Augment = Annotated[bool, typer.Option(help="Flip augmentation (sign-flipped copy, up/down swapped).")]
TimeShift = Annotated[int, typer.Option(help="Random window shift up to this many samples (0 = off, max 100).")]
Seed = Annotated[int, typer.Option(help="Seed for initialisation and shuffling.")]


def _hyperparameters(items: list[str]) -> dict:
    """``--hp NAME=VALUE`` items: a number, a tuple or a word each."""
    import ast

    parsed = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip() or not text.strip():
            raise ConfigError(f"--hp expects NAME=VALUE, got {item!r}")
        try:
            parsed[name.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            parsed[name.strip()] = text.strip()
    return parsed


@command(app, "train")
def train(
    store: StoreOption,
    model: Annotated[str, typer.Option(help=f"{', '.join(MODEL_NAMES)} (or the original names).")] = "pd",
    epochs: Epochs = 500,
    batch_size: BatchSize = 1024,
    learning_rate: LearningRate = 0.001,
    patience: Patience = 20,
    monitor: Annotated[Optional[str], typer.Option(help="Early-stopping metric on the dev split: val_loss, "
                                                        "val_accuracy, val_macro_f1 or val_sign_accuracy "
                                                        "[default: val_accuracy; pp: val_loss].")] = None,
    monitor_mode: Annotated[Optional[str], typer.Option(help="max or min [default: min for a loss, else "
                                                              "max].")] = None,
    loss: Annotated[Optional[str], typer.Option(help="Polarity loss [default: categorical_crossentropy].")] = None,
    augment: Augment = True,
    time_shift: TimeShift = 0,
    attention_width: Annotated[Optional[int], typer.Option(help="SeqSelfAttention width [20].")] = None,
    attention_units: Annotated[Optional[int], typer.Option(help="SeqSelfAttention units [32].")] = None,
    lstm_units: Annotated[Optional[int], typer.Option(help="LSTM units [128].")] = None,
    dense_units: Annotated[Optional[int], typer.Option(help="Dense units [pd 128, ross 512].")] = None,
    hp: Annotated[Optional[list[str]], typer.Option("--hp", help="Any other hyper-parameter of the architecture, "
                                                                 "NAME=VALUE (repeat), e.g. band=0.1 for cfm.")] = None,
    seed: Seed = 0,
    init_from: Annotated[Optional[str], typer.Option(help="Fine-tune: start from this model's weights "
                                                          "(models:/attpd-pd-hinet@champion, a run's model or a "
                                                          "file; same --model and sizes).")] = None,
    freeze: Annotated[bool, typer.Option(help="With --init-from: train only the dense head.")] = False,
    run_name: Annotated[Optional[str], typer.Option(help="MLflow run name.")] = None,
    tracking_uri: TrackingUri = None,
):
    """Train a model on a store's train split (early stopping on dev) as one MLflow run."""
    from attpd_bench.data.store import PolarityStore
    from attpd_bench.settings import TrainConfig

    config = TrainConfig(model=model, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                         patience=patience, monitor=monitor, monitor_mode=monitor_mode, loss=loss, augment=augment,
                         time_shift=time_shift, seed=seed,
                         hyperparameters={"attention_width": attention_width, "attention_units": attention_units,
                                          "lstm_units": lstm_units, "dense_units": dense_units,
                                          **_hyperparameters(hp or [])},
                         init_from=init_from, freeze=freeze).resolved()
    opened = PolarityStore(store)
    from attpd_bench import registry, tracking  # MLflow and the training stack after the checks above
    from attpd_bench.models import build_model
    from attpd_bench.train import train_and_log

    build_model(config.model, **config.hyperparameters)  # reject bad hyper-parameters before a run exists
    tracking.configure(tracking_uri)
    lineage = {}
    if init_from is not None:  # the exact parent version, so the lineage survives the alias moving on
        lineage = {f"parent_{k}": v for k, v in registry.resolve(init_from).items()}
        config = dataclasses.replace(config, init_from=lineage.get("parent_resolved_model_uri", init_from))
    outcome = train_and_log(opened, config, run_name=run_name, tags=lineage)
    _print_scores(f"{config.model} on {opened.dataset}", {"dev": outcome.dev.report, "test": outcome.test.report})
    console.print(f"run {outcome.run_id}; model {outcome.model_uri}; best epoch {outcome.fit.best_epoch + 1} "
                  f"of {outcome.fit.epochs_run}")


# --------------------------------------------------------------------------------------- evaluate
@command(app, "evaluate")
def evaluate(
    model_uri: Annotated[str, typer.Option(help="runs:/<run>/model, models:/m-..., models:/NAME@ALIAS or a "
                                                ".keras/.h5 file.")],
    store: Annotated[Optional[Path], typer.Option(help="Canonical store folder (or give --waveforms).")] = None,
    split: Annotated[str, typer.Option(help="train, dev or test.")] = "test",
    waveforms: Waveforms = None,
    picks: Annotated[Optional[str], typer.Option(help="With --waveforms: P picks with the analyst's polarity "
                                                      "(QuakeML, a CSV with a polarity column, or sac:a).")] = None,
    component: Component = None,
    dataset: Annotated[str, typer.Option(help="With --waveforms: the name of your data set, for the run's "
                                              "experiment attpd/NAME (a-z, 0-9, -).")] = "recordings",
    n_boot: Annotated[int, typer.Option(help="Bootstrap replicates (events resampled).")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    min_confidence: MinConfidence = 0.0,
    shifts: Annotated[int, typer.Option(help="With --store: test-time shifts, the mean probability over this many "
                                              "random shifts of each window [0: off].")] = 0,
    shift_samples: Annotated[int, typer.Option(help="With --shifts: the largest shift either way, in samples "
                                                    "[10 = 0.1 s].")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the evaluation as JSON.")] = False,
    run_name: Annotated[Optional[str], typer.Option(help="MLflow run name.")] = None,
    tracking_uri: TrackingUri = None,
):
    """Confusion matrix, per-class and original metrics, bootstrap intervals and accuracy by SNR, logged; or,
    with --waveforms and --picks, the model against your analyst's polarities on your own recordings."""
    from attpd_bench.data.prepare import check_dataset_name
    from attpd_bench.data.store import PolarityStore

    if waveforms:
        check_dataset_name(dataset)
    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"--min-confidence must lie between 0 and 1, got {min_confidence}")
    window_shifts = _window_shifts(shifts, shift_samples)
    source = _input_or_recordings(store, waveforms, picks, component, option="--store", what="a canonical store")
    if window_shifts is not None and not isinstance(source, Path):
        raise ConfigError("--shifts goes with --store (test-time shifts on your recordings: not yet)")
    if not isinstance(source, Path):
        _evaluate_recordings(model_uri, source, dataset, seed=seed, as_json=as_json, run_name=run_name,
                             tracking_uri=tracking_uri, min_confidence=min_confidence)
        return
    opened = PolarityStore(store)
    opened.rows(split)
    from attpd_bench import tracking  # what needs TensorFlow comes after the checks above
    from attpd_bench.evaluate import evaluate_model, log_evaluation, to_json
    from attpd_bench.models import load_model

    tracking.configure(tracking_uri)  # before the model: a runs:/ or models:/ URI is read from the tracking store
    model = load_model(model_uri)
    if window_shifts is not None:
        window_shifts.check(model)  # the model's window takes them: before the run
    evaluation = evaluate_model(model, opened, split, n_boot=n_boot, seed=seed, min_confidence=min_confidence,
                                shifts=window_shifts)
    run_id = log_evaluation(evaluation, model_uri, run_name)
    if as_json:
        print(to_json(evaluation))
        return
    _print_scores(f"{model_uri} on {opened.dataset} {split}", {split: evaluation.report})
    for table in tables.evaluation(evaluation):
        console.print(table)
    if evaluation.report["undefined"]:
        console.print("undefined (no trace to divide by): " + ", ".join(evaluation.report["undefined"]))
    console.print(f"logged as run {run_id}")


# --------------------------------------------------------------------------------------- transfer
@command(app, "transfer")
def transfer(
    store: Annotated[list[str], typer.Option(help="NAME=PATH of a canonical store; repeat for each region.")],
    models: Annotated[str, typer.Option(help="Comma-separated models; the first two are compared; first-motion "
                                             "is the untrained baseline.")] = "pd,ross,first-motion",
    metric: Annotated[str, typer.Option(help="Metric of the paired comparison: macro_f1, accuracy or "
                                             "sign_accuracy.")] = "macro_f1",
    epochs: Epochs = 500,
    batch_size: BatchSize = 1024,
    learning_rate: LearningRate = 0.001,
    patience: Patience = 20,
    augment: Augment = True,
    time_shift: TimeShift = 0,
    seed: Seed = 0,
    n_boot: Annotated[int, typer.Option(help="Bootstrap replicates for the paired intervals.")] = 1000,
    run_name: Annotated[Optional[str], typer.Option(help="Name of the parent MLflow run.")] = None,
    tracking_uri: TrackingUri = None,
):
    """Transfer matrices: each model trained on each store, tested on every store's test split."""
    from attpd_bench.data.store import PolarityStore
    from attpd_bench.settings import TrainConfig

    stores = {}
    for item in store:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--store expects NAME=PATH, got {item!r}")
        stores[name] = PolarityStore(Path(path))
    model_names = [m.strip() for m in models.split(",") if m.strip()]
    base = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience,
                       augment=augment, time_shift=time_shift, seed=seed)
    from attpd_bench.models.first_motion import FIRST_MOTION

    for name in model_names:
        if name != FIRST_MOTION:  # the untrained rule: nothing to configure (run_transfer scores it as it is)
            TrainConfig(model=name).resolved()
    from attpd_bench import tracking  # what needs TensorFlow comes after the checks above
    from attpd_bench.transfer import markdown_report, run_transfer

    tracking.configure(tracking_uri)
    result = run_transfer(model_names, stores, base, metric=metric, n_boot=n_boot, seed=seed, run_name=run_name)
    console.print(markdown_report(result, metric), soft_wrap=True, highlight=False)
    console.print(f"parent run {result.parent_run_id} in attpd/transfer")


def _print_scores(title: str, reports: dict[str, dict]) -> None:
    console.print(title, soft_wrap=True, highlight=False)  # a long model URI whole, not folded mid-word by a table
    console.print(tables.scores(reports))


# ------------------------------------------------------------------------------------------- tune
StudyFile = Annotated[Path, typer.Option(help="Study definition, e.g. studies/scsn.toml.")]
Storage = Annotated[Optional[str], typer.Option(help="Optuna storage: a journal file [optuna.journal] or an "
                                                     "SQLAlchemy URL such as postgresql://host/db.")]


@tune_app.callback(invoke_without_command=True)
def tune(
    ctx: typer.Context,
    study: Annotated[Optional[Path], typer.Option(help="Study definition, e.g. studies/scsn.toml.")] = None,
    model: Annotated[str, typer.Option(help=f"{', '.join(MODEL_NAMES)}.")] = "pd",
    store: Annotated[Optional[Path], typer.Option(help="Canonical store to tune on.")] = None,
    n_trials: Annotated[Optional[int], typer.Option(help="Trials to add [the study file's n_trials].")] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Stop starting trials after this many seconds.")] = None,
    workers: Annotated[int, typer.Option(help="Local worker processes sharing the study.")] = 1,
    storage: Storage = None,
    seed: Annotated[int, typer.Option(help="Seed of each trial's training.")] = 0,
    refit: Annotated[bool, typer.Option(help="Train the best configuration as a normal run afterwards.")] = False,
    study_name: Annotated[Optional[str], typer.Option(help="Study name [<dataset>-<model>].")] = None,
    worker_index: Annotated[int, typer.Option(help="Distinct per host when several hosts join one study "
                                                   "(0, 1, ...): keeps their samplers, and those of their "
                                                   "--workers, from proposing the same trials.")] = 0,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs per trial [the study file's].")] = None,
    patience: Annotated[Optional[int], typer.Option(help="Early-stopping patience per trial [the study "
                                                         "file's].")] = None,
    tracking_uri: TrackingUri = None,
):
    """Run an Optuna study (`<dataset>-<model>`): every trial a child MLflow run of the study's parent run."""
    if ctx.invoked_subcommand is not None:
        return
    _run_command("tune", _tune, study=study, model=model, store=store, n_trials=n_trials, timeout=timeout,
                 workers=workers, storage=storage, seed=seed, refit=refit, study_name=study_name,
                 worker_index=worker_index, epochs=epochs, patience=patience, tracking_uri=tracking_uri)


def _tune(study, model, store, n_trials, timeout, workers, storage, seed, refit, study_name, worker_index,
          epochs, patience, tracking_uri):
    from attpd_bench.data.store import PolarityStore

    if study is None or store is None:
        raise ConfigError("attpd tune needs --study and --store (or use `attpd tune show`)")
    opened = PolarityStore(store)
    from attpd_bench import tracking  # Optuna and MLflow after the store is known to open
    from attpd_bench import tune as T

    spec = dataclasses.replace(T.load_study_spec(study), name=study_name)
    for option, key, value in (("--epochs", "epochs", epochs), ("--patience", "patience", patience)):
        if value is not None:  # a scaled-down study without editing its file; logged with every trial's params
            if value < (1 if key == "epochs" else 0):
                raise ConfigError(f"{option} must be at least {1 if key == 'epochs' else 0}, got {value}")
            spec = dataclasses.replace(spec, training={**spec.training, key: value})
    uri = tracking.configure(tracking_uri)
    result = T.tune(spec, model, opened, uri, storage=storage, n_trials=n_trials, timeout=timeout,
                    workers=workers, host_index=worker_index, seed=seed, refit_best=refit)
    if result.summary is not None:
        _print_study(result.summary)
    if result.refit is not None:
        console.print(f"refit run {result.refit.run_id}: dev macro-F1 {result.refit.dev.report['macro_f1']:.4f} "
                      f"(chose the trial and the epoch), test macro-F1 {result.refit.test.report['macro_f1']:.4f} "
                      f"(chose nothing), best epoch {result.refit.fit.best_epoch + 1}, model {result.refit.model_uri}")


@command(tune_app, "show")
def tune_show(
    study: StudyFile,
    model: Annotated[str, typer.Option(help=f"{', '.join(MODEL_NAMES)}.")] = "pd",
    storage: Storage = None,
    study_name: Annotated[Optional[str], typer.Option(help="Study name [<dataset>-<model>].")] = None,
    tracking_uri: TrackingUri = None,
):
    """Best trials, parameter importances and figures of a study (figures also logged to its parent run)."""
    from attpd_bench import tracking
    from attpd_bench import tune as T

    spec = dataclasses.replace(T.load_study_spec(study), name=study_name)
    tracking.configure(tracking_uri)
    _print_study(T.summarise(T.load_existing_study(spec, model, storage)))


def _print_study(summary: dict) -> None:
    console.print(tables.best_trials(summary))
    console.print("trials by state: " + ", ".join(f"{k} {v}" for k, v in summary["states"].items()))
    if summary["importances"]:
        console.print("importances: " + ", ".join(f"{k} {v:.3f}" for k, v in summary["importances"].items()))
    if summary["note"]:
        console.print(summary["note"])
    if summary.get("figures", {}).get("files"):
        console.print(f"figures {', '.join(summary['figures']['files'])} logged to the study's parent run "
                      f"{summary['figures']['run']}", highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------------------- registry
@command(app, "promote")
def promote(
    model: Annotated[str, typer.Option(help=f"{', '.join(MODEL_NAMES)}.")],
    dataset: Annotated[str, typer.Option(help="Data set of the registered model attpd-<model>-<dataset>.")],
    run_id: Annotated[Optional[str], typer.Option(help="Candidate run [the best finished run by dev metric].")] = None,
    store: Annotated[Optional[Path], typer.Option(help="Store to compare on [the candidate's own].")] = None,
    metric: Annotated[str, typer.Option(help="macro_f1 or accuracy (sign_accuracy is refused: abstaining "
                                             "raises it).")] = "macro_f1",
    min_gain: Annotated[float, typer.Option(help="Smallest improvement over the champion that moves it.")] = 0.0,
    min_score: Annotated[Optional[float], typer.Option(help="Smallest score (on --split) a champion must reach, besides "
                                                            "beating the majority-class baseline.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap replicates of the paired difference.")] = 1000,
    dry_run: Annotated[bool, typer.Option(help="Decide and report, change nothing in the registry.")] = False,
    split: Annotated[str, typer.Option(help="Split the decision is made on: dev (test stays for the report) or "
                                            "test.")] = "dev",
    tracking_uri: TrackingUri = None,
):
    """Register a candidate; it becomes `champion` only if it beats the majority-class baseline and the
    champion significantly (paired event bootstrap on the dev split), else `challenger`."""
    from attpd_bench import registry, tracking
    from attpd_bench.data.store import PolarityStore

    registry.check_options(metric=metric, n_boot=n_boot, min_gain=min_gain, min_score=min_score, split=split)
    tracking.configure(tracking_uri)
    if run_id is None:  # say which run will be judged, and why that one
        candidate, n_runs = registry.best_training_run(model, dataset, metric), registry.count_training_runs(model,
                                                                                                            dataset)
        run_id = candidate.info.run_id
        console.print(f"candidate: run {run_id} ({candidate.info.run_name}), the best of {n_runs} finished training "
                      f"runs of {model} on {dataset} by dev_{metric} ({candidate.data.metrics[f'dev_{metric}']:.4f})",
                      highlight=False, soft_wrap=True)
    decision = registry.promote(model, dataset, run_id=run_id, store=PolarityStore(store) if store else None,
                                metric=metric, min_gain=min_gain, min_score=min_score, dry_run=dry_run,
                                n_boot=n_boot, split=split)
    console.print(tables.fields(decision.as_dict(),
                                f"promotion of {decision.name}{' (dry run)' if dry_run else ''}"))


@command(app, "predict")
def predict(
    model_uri: Annotated[str, typer.Option(help="models:/attpd-pd-scsn@champion, a run's model, a file, or "
                                                "first-motion (the untrained baseline).")],
    output: Annotated[Path, typer.Option(help="Output table, .csv or .parquet.")],
    input: Annotated[Optional[Path], typer.Option(help="Canonical store, or a raw published layout with "
                                                       "--dataset.")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="Layout of a raw --input: ins, hinet, scsn or pnw.")] = None,
    waveforms: Waveforms = None,
    picks: Picks = None,
    component: Component = None,
    quakeml_out: Annotated[Optional[Path], typer.Option(help="With --picks: the catalogue written back as "
                                                             "QuakeML with each P pick's polarity set.")] = None,
    batch_size: Annotated[int, typer.Option(help="Prediction batch size.")] = 1024,
    skhash_out: Annotated[Optional[Path], typer.Option(help="Also write a complete SKHASH input set into this "
                                                            "folder (run it: attpd skhash DIR/control.txt).")] = None,
    min_probability: Annotated[float, typer.Option(help="Smallest probability for a SKHASH pick.")] = 0.0,
    min_confidence: MinConfidence = 0.0,
    shifts: Annotated[int, typer.Option(help="Test-time shifts, as RPNet runs: the mean probability over this many "
                                              "random shifts of each window, and its spread (p_spread) [0: off].")] = 0,
    shift_samples: Annotated[int, typer.Option(help="With --shifts: the largest shift either way, in samples "
                                                    "[10 = 0.1 s].")] = 10,
    stations: Stations = None,
    catalog: Catalog = None,
    velocity_model: VelocityModel = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an --output / --skhash-out this suite wrote before "
                                                 "(never a file of another kind).")] = False,
    tracking_uri: TrackingUri = None,
):
    """Polarity probabilities and labels per trace; bad traces listed, never guessed. Logged as a run."""
    from attpd_bench import tracking
    from attpd_bench.predict import predict_and_log

    window_shifts = _window_shifts(shifts, shift_samples)
    source = _input_or_recordings(input, waveforms, picks, component)
    if quakeml_out is not None and (waveforms is None or picks is None):
        raise ConfigError("--quakeml-out needs --waveforms and --picks (the picks it writes back)")
    tracking.configure(tracking_uri)
    with progress("predict") as update:
        report = predict_and_log(model_uri, source, output, dataset=dataset,
                                 batch_size=batch_size,
                                 skhash_out=skhash_out, quakeml_out=quakeml_out, min_probability=min_probability,
                                 min_confidence=min_confidence,
                                 shifts=window_shifts,
                                 overwrite=overwrite, stations=stations, catalog=catalog,
                                 velocity_model=velocity_model, on_chunk=update)
    console.print(f"{report.written} traces predicted into {output} ({report.written / max(report.seconds, 1e-9):,.0f}"
                  f" traces/s); {len(report.skipped)} skipped"
                  + (f" (listed in {output.with_name(output.name + '.skipped.csv')})" if report.skipped else "")
                  + (f"; polarities in {quakeml_out}" if quakeml_out else "")
                  + (f"; {report.skhash_picks} SKHASH picks in {skhash_out} (run: attpd skhash "
                     f"{skhash_out / 'control.txt'})" if skhash_out else ""))
    if skhash_out and report.skhash_picks == 0:
        err_console.print(f"warning: no trace was predicted up or down with probability >= {min_probability}: "
                          f"{skhash_out} holds no pick", highlight=False, soft_wrap=True)


def _window_shifts(count: int, max_samples: int):
    """``--shifts`` / ``--shift-samples`` of `predict` and `evaluate`: checked even when off (a negative count or
    shift is refused before anything runs); None when off."""
    from attpd_bench.models import WindowShifts

    shifts = WindowShifts(count, max_samples)
    return shifts if shifts.count else None


def _evaluate_recordings(model_uri: str, reader, dataset: str, *, seed: int, as_json: bool, run_name: str | None,
                         tracking_uri: str | None, min_confidence: float) -> None:
    """`attpd evaluate --waveforms --picks`: scores against the analyst's labels of the picks."""
    from attpd_bench import tracking
    from attpd_bench.evaluate import evaluate_recordings

    tracking.configure(tracking_uri)
    scores, run_id = evaluate_recordings(model_uri, reader, dataset, seed=seed, run_name=run_name,
                                         min_confidence=min_confidence)
    if as_json:
        print(json.dumps(scores, indent=2))
        return
    console.print(tables.recordings_scores(scores, f"{model_uri} on {reader}"))
    console.print(f"95 % intervals resample {scores['resampled']}; run {run_id}", highlight=False)


def _input_or_recordings(input: Path | None, waveforms: list[str] | None, picks: str | None,
                         component: str | None, *, option: str = "--input",
                         what: str = "a store or published layout"):
    """The path of ``option`` (--input, --store, --source), or a reader of the user's --waveforms with their
    --picks: one of the two, not both, and no --picks without --waveforms."""
    if input is not None and waveforms:
        raise ConfigError(f"give either {option} ({what}) or --waveforms with --picks, not both")
    if waveforms:
        if picks is None:
            raise ConfigError("--waveforms needs --picks (QuakeML, CSV, or sac:a / sac:t1)")
        from attpd_bench.data.recordings import RecordingsReader, expand_waveform_paths, read_picks

        files = expand_waveform_paths(waveforms)  # the files first: a typo there is the likelier mistake
        return RecordingsReader(files, read_picks(picks), component=component)
    for name, value in (("--picks", picks), ("--component", component)):
        if value is not None:
            raise ConfigError(f"{name} goes with --waveforms (your recordings)")
    if input is None:
        raise ConfigError(f"give {option} ({what}) or --waveforms with --picks")
    return input


@command(app, "skhash")
def skhash_command(
    control: Annotated[Path, typer.Argument(help="A SKHASH control file, e.g. DIR/control.txt written by "
                                                 "`attpd predict --skhash-out DIR` or `attpd mechanisms`.")],
):
    """Run SKHASH from the suite's own environment (it pins numpy<2, so it is not on your PATH)."""
    from attpd_bench.focal import skhash

    raise typer.Exit(skhash.rerun(control))


@command(app, "mechanisms")
def mechanisms(
    out: Annotated[Path, typer.Option(help="Folder for mechanisms.csv (one row per event, kagan_deg), "
                                           "mechanisms.xml (QuakeML) and skhash/ (SKHASH's inputs and outputs, "
                                           "rerunnable by hand).")],
    store: Annotated[Optional[Path], typer.Option(help="Canonical store whose events get mechanisms.")] = None,
    polarities: Annotated[Optional[str], typer.Option(help="With --store: true (a synthetic region's true "
                                                           "signs), analyst (the store's labels) or a model URI "
                                                           "(models:/attpd-pd-scsn@champion).")] = None,
    skhash_control: Annotated[Optional[Path], typer.Option(help="Instead of --store: a network's own SKHASH "
                                                                "control file (any of SKHASH's input formats), "
                                                                "run as it is.")] = None,
    skhash_base: SkhashBase = None,
    dataset: Annotated[Optional[str], typer.Option(help="With --skhash-control: the name of its runs "
                                                        "(attpd/mechanisms/NAME) [the control file's folder].")] = None,
    reference: Annotated[Optional[Path], typer.Option(help="Reference mechanisms to score against (kagan_deg): "
                                                           "a CSV event_id,strike,dip,rake or a QuakeML "
                                                           "catalogue.")] = None,
    truth: Annotated[Optional[Path], typer.Option(help="truth.csv of a synthetic region [found through the "
                                                       "store's manifest].")] = None,
    split: Annotated[str, typer.Option(help="train, dev, test or all.")] = "test",
    stations: Stations = None,
    catalog: Catalog = None,
    velocity_model: VelocityModel = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap replicates (events resampled).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    reversals: Annotated[Optional[Path], typer.Option(help="Station polarity reversal file (SKHASH's CSV: "
                                                           "network,station,location,channel,start_time,end_time; "
                                                           "`attpd audit reversals` writes one) for SKHASH to "
                                                           "apply.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an --out this command wrote before.")] = False,
    tracking_uri: TrackingUri = None,
):
    """Focal mechanisms with SKHASH from polarities, scored by the Kagan angle to the true mechanism where a
    synthetic region knows it. Logged as a run in attpd/mechanisms/<dataset>."""
    from attpd_bench import tracking
    from attpd_bench.focal import closure

    _check_polarity_source(store, polarities, skhash_control)
    if skhash_control is not None:
        tracking.configure(tracking_uri)
        with console.status("SKHASH on the network's input set"):
            result, run_id = closure.from_control(skhash_control, out, base=skhash_base, dataset=dataset,
                                                  reference=reference, n_boot=n_boot, seed=seed,
                                                  overwrite=overwrite)
        _print_mechanisms(result, f"mechanisms of {skhash_control}", out, run_id)
        return
    tracking.configure(tracking_uri)
    request = closure.prepare(store, polarities, out, truth=truth, split=split, stations=stations,
                              catalog=catalog, velocity_model=velocity_model, n_boot=n_boot, reversals=reversals,
                              reference=reference, overwrite=overwrite)
    from attpd_bench import registry

    request.provenance = registry.resolve(polarities)  # the version an alias points to now, kept with the run
    with console.status("polarities -> SKHASH -> mechanisms"):
        result, run_id = closure.compute_and_log(request, n_boot=n_boot, seed=seed)
    _print_mechanisms(result, f"mechanisms of {store} ({polarities}, {split})", out, run_id)


def _check_polarity_source(store: Optional[Path], polarities: Optional[str], skhash_control: Optional[Path]):
    """`mechanisms` and `audit reversals` read polarities from a store or from a network's SKHASH input set."""
    if (store is None) == (skhash_control is None):
        raise ConfigError("give --store with --polarities, or --skhash-control")
    if store is not None and polarities is None:
        raise ConfigError("--store needs --polarities (true, analyst or a model URI)")
    if skhash_control is not None and not skhash_control.is_file():
        raise ConfigError(f"{skhash_control}: --skhash-control not found")


def _print_mechanisms(result, title: str, out: Path, run_id: str) -> None:
    from attpd_bench.focal import closure

    console.print(tables.fields(result.summary, title))
    console.print(f"{out / closure.TABLE_FILE}, {out / closure.QUAKEML_FILE}; SKHASH's inputs in "
                  f"{out / closure.SKHASH_FOLDER} (rerun: attpd skhash "
                  f"{shlex.quote(str((out / closure.SKHASH_FOLDER / 'control.txt').resolve()))}); run {run_id}",
                  soft_wrap=True, highlight=False, markup=False)


@command(audit_app, "reversals")
def audit_reversals(
    out: Annotated[Path, typer.Option(help="Folder for reversals.csv (one row per station), evidence.csv (one "
                                           "row per polarity), reversals_skhash.csv (SKHASH's reversal file) "
                                           "and SKHASH's runs.")],
    store: Annotated[Optional[Path], typer.Option(help="Canonical store whose events to audit.")] = None,
    polarities: Annotated[Optional[str], typer.Option(help="With --store: analyst (the store's labels), true or "
                                                           "a model URI.")] = None,
    skhash_control: Annotated[Optional[Path], typer.Option(help="Instead of --store: a network's SKHASH "
                                                                "control file (any input format); its $plfile "
                                                                "is left out and compared with the finding.")] = None,
    skhash_base: SkhashBase = None,
    dataset: Annotated[Optional[str], typer.Option(help="With --skhash-control: the name of its runs "
                                                        "(attpd/audit/NAME) [the control file's folder].")] = None,
    split: Annotated[str, typer.Option(help="With --store: train, dev, test or all.")] = "all",
    stations: Stations = None,
    catalog: Catalog = None,
    velocity_model: VelocityModel = None,
    alpha: Annotated[float, typer.Option(help="False discovery rate across the stations "
                                              "tested.")] = REVERSAL_ALPHA,
    min_events: Annotated[int, typer.Option(help="Decided events a station needs to be "
                                                 "tested.")] = REVERSAL_MIN_EVENTS,
    overwrite: Annotated[bool, typer.Option(help="Replace an --out this command wrote before.")] = False,
    tracking_uri: TrackingUri = None,
):
    """Stations whose polarities the mechanisms of the other stations contradict (leave-one-station-out,
    binomial test, Benjamini-Hochberg). Logged as a run in attpd/audit/<dataset>."""
    from attpd_bench import audit, registry, tracking

    _check_polarity_source(store, polarities, skhash_control)
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must lie between 0 and 1, got {alpha} (default {REVERSAL_ALPHA})")
    if min_events < 1:
        raise ConfigError(f"--min-events must be at least 1, got {min_events}")
    tracking.configure(tracking_uri)
    with console.status("polarities -> SKHASH -> leave-one-station-out test"):
        if store is not None:
            result, run_id = audit.audit_store(store, polarities, out, split=split, alpha=alpha,
                                               min_events=min_events, provenance=registry.resolve(polarities),
                                               overwrite=overwrite, stations=stations, catalog=catalog,
                                               velocity_model=velocity_model)
        else:
            result, run_id = audit.audit_control(skhash_control, out, base=skhash_base, dataset=dataset,
                                                 alpha=alpha, min_events=min_events, overwrite=overwrite)
    console.print(tables.reversal_stations(result.finding.stations))
    console.print(tables.fields(result.summary, "summary"))
    console.print(f"{out / audit.STATION_TABLE}; SKHASH's reversal file {out / audit.REVERSAL_FILE}; run {run_id}",
                  soft_wrap=True)


@command(audit_app, "labels")
def audit_labels(
    store: Annotated[Path, typer.Option(help="Canonical store whose labels to audit.")],
    model_uri: Annotated[str, typer.Option(help="A model that did not train on --split of this store "
                                                "(models:/attpd-pd-pnw@champion on its dev or test split); "
                                                "with --cross-validate, the run whose configuration to "
                                                "retrain.")],
    out: Annotated[Path, typer.Option(help="Folder for label_issues.csv (the ranked suspects).")],
    split: Annotated[Optional[str], typer.Option(help="train, dev, test or all (train and all only for a model "
                                                      "that never saw this store, or with --cross-validate) "
                                                      "[default: test; with --cross-validate all].")] = None,
    cross_validate: Annotated[Optional[int], typer.Option(help="K: retrain --model-uri's configuration K times, "
                                                               "each on the events of K-1 folds, so every trace "
                                                               "is scored by a model that never saw its "
                                                               "event.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --cross-validate folds.")] = 0,
    reversal_audit: Annotated[Optional[Path], typer.Option(help="Folder of `attpd audit reversals` on this "
                                                                "store: the mechanisms' votes join the "
                                                                "evidence.")] = None,
    relabel: Annotated[Optional[Path], typer.Option(help="Write a copy of the store here with the flagged labels "
                                                         "changed (never the original).")] = None,
    relabel_to: Annotated[str, typer.Option(help="suspected (the model's class) or unknown.")] = "suspected",
    overwrite: Annotated[bool, typer.Option(help="Replace an --out this command wrote before.")] = False,
    tracking_uri: TrackingUri = None,
):
    """Rank the traces whose analyst label is most likely wrong: confident learning (cleanlab) on the model's
    out-of-sample probabilities, with the mechanisms' vote where known. Logged in attpd/audit/<dataset>."""
    from attpd_bench import label_audit, registry, tracking
    from attpd_bench.focal.closure import check_polarity_source

    check_polarity_source(model_uri)
    tracking.configure(tracking_uri)
    # the folds' trainings show their own progress; a status spinner would be a second live display
    with console.status("model probabilities -> confident learning") if cross_validate is None else nullcontext():
        issues, summary, run_id = label_audit.audit_labels(store, model_uri, out, split=split,
                                                     cross_validate=cross_validate, seed=seed,
                                                     reversal_audit=reversal_audit, relabel=relabel,
                                                     relabel_to=relabel_to, provenance=registry.resolve(model_uri),
                                                     overwrite=overwrite)
    console.print(tables.label_issues(issues, f"most suspect labels of {store} "
                                              f"({label_audit.audited_split(split, cross_validate)}): {len(issues)} flagged"))
    console.print(tables.fields(summary, "summary"))
    console.print(f"{out / label_audit.ISSUES_TABLE}" + (f"; relabelled store {relabel}" if relabel else "")
                  + f"; run {run_id}", soft_wrap=True)


@command(app, "import-model")
def import_model(
    model: Annotated[str, typer.Option(help=f"The architecture the weights belong to: {', '.join(MODEL_NAMES)}.")],
    weights: Annotated[Path, typer.Option(help="A published Keras 2 HDF5 file of that architecture (a saved model "
                                               "or its weights).")],
    dataset: Annotated[str, typer.Option(help="Data set it was trained on (registered as attpd-<model>-<dataset>).")],
    store: Annotated[Optional[Path], typer.Option(help="Store for the input example and fingerprint tag.")] = None,
    tracking_uri: TrackingUri = None,
):
    """Register a published picker's weights as a version of attpd-<model>-<dataset>, once its layers are checked
    against the architecture (the first that does not fit is named)."""
    from attpd_bench import registry

    name, run_id, version = registry.import_original(weights, model, dataset, store, tracking_uri=tracking_uri)
    console.print(f"imported {weights} as run {run_id}, registered {name} version {version}")


@command(app, "import-h5")
def import_h5(
    file: Annotated[Path, typer.Option(help="Model or _wt weights file saved by the original code (Keras 2 .h5).")],
    model: Annotated[str, typer.Option(help=f"Architecture: {', '.join(MODEL_NAMES)} or an original name.")],
    dataset: Annotated[str, typer.Option(help="Data set it was trained on (registered as attpd-<model>-<dataset>).")],
    store: Annotated[Optional[Path], typer.Option(help="Store for the input example and fingerprint tag.")] = None,
    tracking_uri: TrackingUri = None,
):
    """Load a published model into the project's architecture, log it as a run and register it."""
    from attpd_bench import registry

    name, run_id, version = registry.import_original(file, model, dataset, store, tracking_uri=tracking_uri)
    console.print(f"imported {file} as run {run_id}, registered {name} version {version}")


# ------------------------------------------------------------------------------------------- demo
@command(app, "demo")
def demo(
    quick: Annotated[bool, typer.Option(help="The short version (a few minutes).")] = False,
    workdir: Annotated[Path, typer.Option(help="Folder for data, stores, mlflow.db and optuna.journal.")] =
    Path("attpd-work"),
    seed: Annotated[int, typer.Option(help="Seed of the whole demo.")] = 0,
    n_events: Annotated[Optional[int], typer.Option(help="Override: events per region.")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Override: trials per study.")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Override: epochs per training run.")] = None,
    tracking_uri: Annotated[Optional[str], typer.Option(help="MLflow tracking URI [the workdir's own mlflow.db; "
                                                             "MLFLOW_TRACKING_URI is not followed].")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="Studies run side by side, each in a process of one "
                                                     "TensorFlow thread [2]; 1: one after another in this "
                                                     "process.")] = None,
    real_data: Annotated[Optional[Path], typer.Option(help="Labelled real cases the champions are scored on: "
                                                           "folders of waveforms/ and picks.csv (with a "
                                                           "polarity column) [the project's data/real].")] = None,
):
    """The user's day on four synthetic regions: studies for PD and Ross, untuned and tuned runs promoted
    through the gate, transfer matrices, summary.md."""
    from attpd_bench.demo import SIZES, run_demo

    size = SIZES["quick" if quick else "default"]
    size = dataclasses.replace(size, **{k: v for k, v in (("n_events", n_events), ("trials", trials),
                                                          ("epochs", epochs)) if v is not None})
    run_demo(workdir, quick=quick, seed=seed, size=size, tracking_uri=tracking_uri,
             **({} if jobs is None else {"jobs": jobs}), **({} if real_data is None else {"real_data": real_data}))


def main() -> None:
    """The console-script entry point. A usage error (an unknown option, a missing or malformed value) is one line
    and exit 1, like every other refused input, not click's boxed usage text and exit 2."""
    import sys

    from typer.exceptions import TyperException  # base of the click exceptions Typer vendors (usage errors, ...)

    try:
        code = app(standalone_mode=False)
    except typer.Abort:  # Ctrl-C while a prompt reads
        sys.exit(130)
    except TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        where = f" ({ctx.command_path} --help)" if ctx is not None else " (attpd --help)"
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err_console.print(Text.assemble(("error:", "bold red"), f" {message}{where}"), highlight=False,
                          soft_wrap=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # `python -m attpd_bench.cli` (tuning workers)
    main()
