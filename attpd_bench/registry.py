"""Registered models ``attpd-<model>-<dataset>`` and gated promotion with the ``champion`` / ``challenger``
aliases (stages are not used).

Promotion: the candidate (a given run of ``model`` on ``dataset``, or the finished training run with the best
dev metric) is evaluated on the data set's store, dev split by default: the split that chooses is never the one
that reports, so a champion's test score stays a score of a model nothing was chosen on (``split="test"`` is
there for a store whose dev split is too small). It must first pass the gate: beat the
majority-class baseline (the split's most frequent label, predicted for every trace) by the paired rule
below, and reach ``min_score`` if one is given. Then it is compared with the current champion: the champion
alias moves only if the candidate wins by at least ``min_gain`` and the paired event-bootstrap interval of the
difference lies above zero; otherwise the candidate becomes ``challenger``. Ranking metrics are macro-F1 and
accuracy: sign accuracy is refused because it is computed on the traces a model calls up or down only, so a
model that abstains ("unknown") raises it. The decision goes into the version's tags, a JSON artifact and
a ``promotion`` run. An alias is only ever set on a version that this promotion evaluated: if the champion
moved while we were evaluating (another promotion), we compare again against the new one.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass

import numpy as np

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

from attpd_bench import metrics as M
from attpd_bench import tracking
from attpd_bench.data.labels import CLASS_NAMES
from attpd_bench.data.store import PolarityStore
from attpd_bench.errors import ConfigError, DataError, TrackingError
from attpd_bench.models import model_spec

CHAMPION, CHALLENGER = "champion", "challenger"
RANKING_METRICS = ("macro_f1", "accuracy")
ABSTENTION_METRICS = {"sign_accuracy": "sign_coverage"}  # refused for ranking: abstaining raises them


def registered_name(model: str, dataset: str) -> str:
    return f"attpd-{model_spec(model).name}-{dataset}"


def _finished_training_runs(model: str, dataset: str, metric: str = "macro_f1") -> list:
    runs = tracking.search_runs(tracking.experiment_name("train", dataset),
                                f"tags.model = '{model_spec(model).name}' and tags.kind = 'training' and "
                                f"attributes.status = 'FINISHED'", order_by=[f"metrics.dev_{metric} DESC"])
    return [r for r in runs if "model_uri" in r.data.tags and f"dev_{metric}" in r.data.metrics]


def count_training_runs(model: str, dataset: str, metric: str = "macro_f1") -> int:
    """How many finished training runs with a model and a dev ``metric`` :func:`best_training_run` chose from."""
    return len(_finished_training_runs(model, dataset, metric))


def best_training_run(model: str, dataset: str, metric: str = "macro_f1"):
    """The finished training run (with a model) of ``model`` on ``dataset`` with the best dev ``metric``."""
    runs = _finished_training_runs(model, dataset, metric)
    if not runs:
        raise TrackingError(f"no finished training run of {model!r} on {dataset!r} with a model and dev_{metric} "
                            f"in experiment attpd/{dataset}")
    return runs[0]


def get_run(run_id: str):
    try:
        return MlflowClient().get_run(run_id)
    except MlflowException as exc:
        raise TrackingError(f"no run {run_id!r}: {str(exc).splitlines()[0]}") from None


def register(run, name: str):
    """The version of ``name`` holding this run's model; registering the same run twice gives the same
    version."""
    client = MlflowClient()
    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name, tags={"project": "attpd-bench"})
        except MlflowException:  # created by a concurrent promotion in the meantime
            client.get_registered_model(name)
    existing = client.search_model_versions(f"name = '{name}' and run_id = '{run.info.run_id}'")
    if existing:
        return sorted(existing, key=lambda v: int(v.version))[0]
    uri = run.data.tags["model_uri"]
    logged_model = uri.removeprefix("models:/") if uri.startswith("models:/m-") else None
    version = client.create_model_version(name, uri, run_id=run.info.run_id, model_id=logged_model,
                                          tags={"store_fingerprint": run.data.tags.get("store_fingerprint", ""),
                                                "model": run.data.tags.get("model", "")})
    if logged_model is not None:  # the LoggedModel's page lists its versions (as mlflow.register_model does)
        linked = json.loads(client.get_logged_model(logged_model).tags.get(MLFLOW_MODEL_VERSIONS, "[]"))
        linked.append({"name": name, "version": version.version})
        client.set_logged_model_tags(logged_model, {MLFLOW_MODEL_VERSIONS: json.dumps(linked)})
    return version


MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


def resolve(model_uri: str) -> dict[str, str]:
    """Provenance of a model URI: a registered one (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``) with the
    version it points to now and that version's run, so a run can name what it used after the alias moves;
    any other URI (a run's model, a file, first-motion) as given."""
    found = MODEL_URI.match(model_uri)
    if found is None:
        return {"model_uri": model_uri}
    name, alias, number = found["name"], found["alias"], found["version"]
    if alias is not None:
        version = alias_version(name, alias)
    else:
        try:
            version = MlflowClient().get_model_version(name, number)
        except MlflowException:
            version = None
    if version is None:
        raise ConfigError(f"cannot load model {model_uri!r}: no such registered model version (see `attpd promote` "
                          f"and the MLflow UI)")
    return {"model_uri": model_uri, "resolved_model_uri": f"models:/{name}/{version.version}",
            "registered_model": name, "model_version": str(version.version), "model_run_id": version.run_id or ""}


def training_run_tags(provenance: dict) -> dict[str, str]:
    """The tags of the run that trained the model of ``provenance`` (:func:`resolve`: a registered model's run, or
    a ``runs:/RUN/...`` URI), among them ``dataset`` and ``store_fingerprint``; empty for a file, the untrained
    baseline or a run this tracking store does not hold."""
    run = _training_run(provenance)
    return {} if run is None else dict(run.data.tags)


def training_run_params(provenance: dict) -> dict[str, str]:
    """The parameters of the run that trained the model of ``provenance`` (its configuration among them, see
    :func:`train.config_from_params`); empty where :func:`training_run_tags` is."""
    run = _training_run(provenance)
    return {} if run is None else dict(run.data.params)


def _training_run(provenance: dict):
    run_id = provenance.get("model_run_id")
    uri = provenance.get("model_uri", "")
    if not run_id and uri.startswith("runs:/"):
        run_id = uri[len("runs:/"):].split("/")[0]
    if not run_id:
        return None
    try:
        return MlflowClient().get_run(run_id)
    except MlflowException:
        return None


def alias_version(name: str, alias: str):
    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


@dataclass
class Decision:
    name: str
    candidate_run_id: str
    candidate_version: str | None
    compared_version: str | None
    metric: str
    candidate_score: float
    champion_score: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    min_gain: float
    baseline_class: str  # the majority-class baseline's constant prediction
    baseline_score: float
    baseline_difference: float
    baseline_ci_low: float
    baseline_ci_high: float
    min_score: float | None
    alias: str  # champion | challenger
    reason: str
    dry_run: bool
    store_fingerprint: str
    split: str = "dev"  # the split the decision was made on

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


MIN_DECISION_EVENTS = 2  # an event bootstrap of one event draws it every time: a zero-width interval, no evidence


def _paired_verdict(metric, min_gain, labels, events, candidate, other, n_boot, seed) -> tuple[bool, dict]:
    """The paired rule: the candidate wins if it is better by ``min_gain`` and the 95 % event-bootstrap
    interval of the difference lies above zero; never on fewer than ``MIN_DECISION_EVENTS`` events."""
    diff = M.paired_bootstrap_difference(labels, candidate, other, events, metric, n_boot=n_boot, seed=seed)
    diff["n_events"] = len(np.unique(np.asarray(events).astype(str)))
    enough = diff["n_events"] >= MIN_DECISION_EVENTS
    return enough and diff["difference"] >= min_gain and diff["low"] > 0, diff


def _explain(metric, min_gain, wins, diff, against: str) -> str:
    if diff["n_events"] < MIN_DECISION_EVENTS:
        return (f"the split holds {diff['n_events']} event: an event bootstrap needs at least "
                f"{MIN_DECISION_EVENTS} to decide (give the store more events, or a dev split of its own)")
    interval = f"95% interval [{diff['low']:+.4f}, {diff['high']:+.4f}]"
    if wins:
        return f"{metric} {diff['difference']:+.4f} over {against} >= min gain {min_gain}, {interval} above zero"
    if diff["difference"] < min_gain:
        return f"{metric} {diff['difference']:+.4f} over {against} is below min gain {min_gain}"
    return f"{interval} of the {metric} difference over {against} includes zero"


def _gate(metric, min_gain, min_score, candidate_eval, baseline_class: int, n_boot, seed) -> dict:
    """Candidate versus the majority-class baseline (and ``min_score``): may it become champion at all?"""
    labels, events = candidate_eval.labels, candidate_eval.events
    baseline = np.full(len(labels), baseline_class)
    wins, diff = _paired_verdict(metric, min_gain, labels, events, candidate_eval.predictions, baseline, n_boot,
                                 seed)
    against = f"the majority-class baseline (always '{CLASS_NAMES[baseline_class]}')"
    reason = _explain(metric, min_gain, wins, diff, against)
    score = candidate_eval.report[metric]
    if wins and min_score is not None and not score >= min_score:
        wins, reason = False, f"{metric} {score:.4f} is below --min-score {min_score}"
    return {"passed": wins, "reason": reason, "baseline_class": CLASS_NAMES[baseline_class],
            "baseline_score": score - diff["difference"], "baseline_difference": diff["difference"],
            "baseline_ci_low": diff["low"], "baseline_ci_high": diff["high"]}


def _decide(metric, min_gain, candidate_eval, champion_eval, gate, n_boot, seed) -> dict:
    cand_score = candidate_eval.report[metric]
    empty = {"champion_score": None, "difference": None, "ci_low": None, "ci_high": None,
             "candidate_score": cand_score}
    if not gate["passed"]:
        return {**empty, "alias": CHALLENGER, "reason": f"fails the gate: {gate['reason']}"}
    if champion_eval is None:
        return {**empty, "alias": CHAMPION, "reason": f"no champion yet; {gate['reason']}"}
    wins, diff = _paired_verdict(metric, min_gain, candidate_eval.labels, candidate_eval.events,
                                 candidate_eval.predictions, champion_eval.predictions, n_boot, seed)
    return {"alias": CHAMPION if wins else CHALLENGER,
            "reason": _explain(metric, min_gain, wins, diff, "the champion"),
            "champion_score": champion_eval.report[metric], "difference": diff["difference"],
            "ci_low": diff["low"], "ci_high": diff["high"], "candidate_score": cand_score}


def _check_candidate(run, model: str, dataset: str, store: PolarityStore | None) -> PolarityStore:
    """The candidate is a model of ``model`` trained on ``dataset``; returns the store to compare on."""
    run_id = run.info.run_id
    if "model_uri" not in run.data.tags:
        raise TrackingError(f"run {run_id} has no logged model")
    if run.data.tags.get("model") != model_spec(model).name:
        raise ConfigError(f"run {run_id} trained {run.data.tags.get('model')!r}, not {model!r}")
    if run.data.tags.get("dataset") != dataset:
        raise ConfigError(f"run {run_id} was trained on {run.data.tags.get('dataset')!r}, not {dataset!r}: it "
                          f"cannot become {registered_name(model, dataset)}")
    if store is None:
        if "store" not in run.data.params:
            raise ConfigError(f"run {run_id} names no store (an imported model?): give --store")
        path = run.data.params["store"]
        try:
            store = PolarityStore(path)
        except DataError as exc:
            raise ConfigError(f"the store {path} that run {run_id} was trained on cannot be opened ({exc}); "
                              f"give --store") from None
    if store.dataset != dataset:
        raise ConfigError(f"{store.path} holds {store.dataset!r}, not {dataset!r}: promotions of "
                          f"{registered_name(model, dataset)} compare on a {dataset!r} store")
    fingerprint = run.data.tags.get("store_fingerprint")
    if fingerprint is not None and fingerprint != store.fingerprint:  # None: an imported published model
        raise ConfigError(f"candidate run {run_id} was trained on store {fingerprint[:16]}, but "
                          f"{store.path} has fingerprint {store.fingerprint[:16]}: scores would not be comparable")
    return store


def check_options(*, metric: str, n_boot: int, min_gain: float, min_score: float | None, split: str) -> None:
    """A promotion's options, checked before anything is looked up or evaluated."""
    if metric in ABSTENTION_METRICS:
        raise ConfigError(f"{metric} cannot rank promotions: it counts only the traces a model calls up or "
                          f"down, so a model that answers 'unknown' raises it; promote on "
                          f"{' or '.join(RANKING_METRICS)} and read {metric} with {ABSTENTION_METRICS[metric]}")
    if metric not in RANKING_METRICS:
        raise ConfigError(f"unknown metric {metric!r}; expected one of {', '.join(RANKING_METRICS)}")
    if n_boot < 100:
        raise ConfigError(f"--n-boot must be at least 100 for a 95% interval, got {n_boot}")
    if split not in ("dev", "test"):
        raise ConfigError(f"--split must be dev (the default: test stays for the report) or test, got {split!r}")
    for option, value in (("--min-gain", min_gain), ("--min-score", min_score)):
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"{option} must be a finite number, got {value}")


def promote(model: str, dataset: str, *, run_id: str | None = None, store: PolarityStore | None = None,
            metric: str = "macro_f1", min_gain: float = 0.0, min_score: float | None = None,
            dry_run: bool = False, n_boot: int = 1000, seed: int = 0, max_rounds: int = 3,
            split: str = "dev") -> Decision:
    check_options(metric=metric, n_boot=n_boot, min_gain=min_gain, min_score=min_score, split=split)
    name = registered_name(model, dataset)
    run = get_run(run_id) if run_id else best_training_run(model, dataset, metric)
    store = _check_candidate(run, model, dataset, store)
    candidate_eval = _evaluate(run.data.tags["model_uri"], store, split)
    # the split's own most frequent label: the strongest constant answer (a balanced train split, as
    # SCSN's, would name an arbitrary class)
    majority = int(np.bincount(candidate_eval.labels, minlength=len(CLASS_NAMES)).argmax())
    gate = _gate(metric, min_gain, min_score, candidate_eval, majority, n_boot, seed)
    with tracking.exclusive(f"promote-{name}"):
        return _compare_and_move(name, run, store, candidate_eval, gate, metric=metric, min_gain=min_gain,
                                 min_score=min_score, dry_run=dry_run, n_boot=n_boot, seed=seed,
                                 max_rounds=max_rounds, split=split)


def _evaluate(model_uri: str, store: PolarityStore, split: str):
    """A model's evaluation on ``split``, no bootstrap. TensorFlow loads here rather than with this module, so that
    a command resolving an alias (``attpd predict``) checks its options first."""
    from attpd_bench.evaluate import evaluate_model
    from attpd_bench.models import load_model

    return evaluate_model(load_model(model_uri), store, split, n_boot=0)


def _compare_and_move(name: str, run, store: PolarityStore, candidate_eval, gate: dict, *, metric: str,
                      min_gain: float, min_score: float | None, dry_run: bool, n_boot: int, seed: int,
                      max_rounds: int, split: str) -> Decision:
    """Compare with the champion and move an alias; under the registered model's lock where the tracking store
    has one, so that promotions of one registered model run one after another. The re-check before the move
    covers stores without a lock (an mlflow server)."""
    gate_fields = {k: gate[k] for k in ("baseline_class", "baseline_score", "baseline_difference",
                                        "baseline_ci_low", "baseline_ci_high")}
    for _ in range(max_rounds):
        champion = alias_version(name, CHAMPION)
        if champion is not None and champion.run_id == run.info.run_id:
            score = candidate_eval.report[metric]
            return _record(Decision(name, run.info.run_id, str(champion.version), str(champion.version), metric,
                                    score, score, 0.0, 0.0, 0.0, min_gain, **gate_fields, min_score=min_score,
                                    alias=CHAMPION, reason="candidate is already the champion",
                                    dry_run=dry_run, store_fingerprint=store.fingerprint, split=split), run,
                           store, None)
        champion_eval = None
        if champion is not None:
            champ_fp = champion.tags.get("store_fingerprint")
            if champ_fp and champ_fp != store.fingerprint:
                raise ConfigError(f"champion {name} v{champion.version} was trained on store {champ_fp[:16]}, the "
                                  f"candidate on {store.fingerprint[:16]}: refusing to compare across stores")
            champion_eval = _evaluate(f"models:/{name}/{champion.version}", store, split)
        verdict = _decide(metric, min_gain, candidate_eval, champion_eval, gate, n_boot, seed)
        decision = Decision(name, run.info.run_id, None, str(champion.version) if champion else None, metric,
                            verdict["candidate_score"], verdict["champion_score"], verdict["difference"],
                            verdict["ci_low"], verdict["ci_high"], min_gain, **gate_fields, min_score=min_score,
                            alias=verdict["alias"], reason=verdict["reason"], dry_run=dry_run,
                            store_fingerprint=store.fingerprint, split=split)
        if dry_run:
            return _record(decision, run, store, None)
        version = register(run, name)
        decision.candidate_version = str(version.version)
        now = alias_version(name, CHAMPION)
        if (str(now.version) if now else None) != decision.compared_version:
            continue  # another promotion moved the champion while we evaluated: compare with the new one
        client = MlflowClient()
        for key, value in decision.as_dict().items():
            if value is not None:  # plain strings a user can read in the UI
                client.set_model_version_tag(name, version.version, f"promotion.{key}", str(value))
        try:
            client.set_registered_model_alias(name, decision.alias, version.version)
        except MlflowException:  # another promotion set this alias in the same instant (a unique constraint)
            continue  # compare again, with whatever is champion now
        return _record(decision, run, store, version)
    raise TrackingError(f"the champion of {name} kept moving during {max_rounds} comparisons; try again")


def _record(decision: Decision, run, store: PolarityStore, version) -> Decision:
    """A ``promotion`` run in ``attpd/<dataset>`` with the decision as metrics, tags and a JSON artifact."""
    tags = tracking.standard_tags(model=run.data.tags.get("model"), dataset=store.dataset,
                                  store_fingerprint=store.fingerprint, seed=None, kind="promotion",
                                  registered_model=decision.name, decision=decision.alias,
                                  dry_run=str(decision.dry_run).lower())
    with tracking.run(tracking.experiment_name("train", store.dataset), f"promote-{decision.name}", tags) as log:
        log.log_params({"candidate_run_id": decision.candidate_run_id, "metric": decision.metric,
                        "min_gain": decision.min_gain, "min_score": decision.min_score,
                        "compared_version": decision.compared_version,
                        "candidate_version": decision.candidate_version})  # unset ones are left out
        log.log_metrics({k: v for k, v in decision.as_dict().items()
                         if k in ("candidate_score", "champion_score", "difference", "ci_low", "ci_high",
                                  "baseline_score", "baseline_difference", "baseline_ci_low", "baseline_ci_high")
                         and v is not None})
        log.log_dict(decision.as_dict(), "promotion.json")
    if version is not None:
        MlflowClient().log_dict(decision.candidate_run_id, decision.as_dict(),
                                f"promotion/{int(time.time())}-{decision.alias}.json")
    return decision


def model_uri(name: str, alias: str = CHAMPION) -> str:
    return f"models:/{name}@{alias}"


def import_original(file, model: str, dataset: str, store=None, *, tracking_uri: str | None = None
                    ) -> tuple[str, str, str]:
    """A model file of the original code (Keras 2 HDF5) brought into the suite's ``model`` architecture
    (:func:`models.load_original_weights`), logged as a run of ``attpd/train/<dataset>`` with its source file and
    registered as a version of ``attpd-<model>-<dataset>``; (registered name, run id, version). ``store``: a
    canonical store whose first windows become the model's input example and whose fingerprint is tagged. The
    tracking store is opened (``tracking_uri``) once the file is known to fit: a bad file leaves nothing behind."""
    from attpd_bench.models import as_model_input, custom_objects, load_original_weights

    spec = model_spec(model)
    keras_model = load_original_weights(file, spec.name)
    opened = PolarityStore(store) if store else None
    if opened is not None:
        example = as_model_input(spec.convention.windows(opened.read_rows(np.arange(min(4, len(opened))))),
                                 spec.input_shape)
    else:
        example = np.random.default_rng(0).standard_normal((4, *spec.input_shape)).astype(np.float32)
    tracking.configure(tracking_uri)
    name = registered_name(spec.name, dataset)
    tags = tracking.standard_tags(model=spec.name, dataset=dataset,
                                  store_fingerprint=opened.fingerprint if opened else None, seed=None,
                                  kind="import", source_file=str(file))
    with tracking.run(tracking.experiment_name("train", dataset), f"import-{name}", tags) as log:
        log.log_params({"source_file": str(file)})
        tracking.log_keras_model(keras_model, example, custom_objects())
    version = register(MlflowClient().get_run(log.run_id), name)
    return name, log.run_id, str(version.version)


