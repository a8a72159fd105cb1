"""Registered models ``attpd-<model>-<dataset>`` and gated promotion with the ``champion`` / ``challenger``
aliases (stages are not used).

Promotion: the candidate (a given run, or the finished training run with the best dev metric) is evaluated
against the current champion on the same store's test split. The champion alias moves only if the candidate
wins by at least ``min_gain`` and the paired event-bootstrap interval of the difference lies above zero;
otherwise the candidate becomes ``challenger``. The decision goes into the version's tags, a JSON artifact and
a ``promotion`` run. An alias is only ever set on a version that this promotion evaluated: if the champion
moved while we were evaluating (another promotion), we compare again against the new one.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from attpd_bench import metrics as M
from attpd_bench import tracking
from attpd_bench.data.store import PolarityStore
from attpd_bench.errors import ConfigError, TrackingError
from attpd_bench.evaluate import evaluate_model, load_model
from attpd_bench.models import model_spec

CHAMPION, CHALLENGER = "champion", "challenger"
RANKING_METRICS = ("macro_f1", "accuracy", "sign_accuracy")


def registered_name(model: str, dataset: str) -> str:
    return f"attpd-{model_spec(model).name}-{dataset}"


def best_training_run(model: str, dataset: str, metric: str = "macro_f1"):
    """The finished training run (with a model) of ``model`` on ``dataset`` with the best dev ``metric``."""
    runs = tracking.search_runs(tracking.experiment_name("train", dataset),
                                f"tags.model = '{model_spec(model).name}' and tags.kind = 'training' and "
                                f"attributes.status = 'FINISHED'", order_by=[f"metrics.dev_{metric} DESC"])
    runs = [r for r in runs if "model_uri" in r.data.tags and f"dev_{metric}" in r.data.metrics]
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
    return client.create_model_version(name, run.data.tags["model_uri"], run_id=run.info.run_id,
                                       tags={"store_fingerprint": run.data.tags.get("store_fingerprint", ""),
                                             "model": run.data.tags.get("model", "")})


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
    alias: str  # champion | challenger
    reason: str
    dry_run: bool
    store_fingerprint: str

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def _decide(metric, min_gain, candidate_eval, champion_eval, n_boot, seed) -> dict:
    cand_score = candidate_eval.report[metric]
    if champion_eval is None:
        return {"alias": CHAMPION, "reason": "no champion yet", "champion_score": None, "difference": None,
                "ci_low": None, "ci_high": None, "candidate_score": cand_score}
    labels, events = candidate_eval.labels, candidate_eval.events
    diff = M.paired_bootstrap_difference(labels, candidate_eval.predictions, champion_eval.predictions, events,
                                         metric, n_boot=n_boot, seed=seed)
    wins = diff["difference"] >= min_gain and diff["low"] > 0
    if wins:
        reason = (f"{metric} +{diff['difference']:.4f} >= min gain {min_gain} and 95% interval "
                  f"[{diff['low']:.4f}, {diff['high']:.4f}] above zero")
    elif diff["difference"] < min_gain:
        reason = f"{metric} difference {diff['difference']:+.4f} below min gain {min_gain}"
    else:
        reason = f"95% interval [{diff['low']:.4f}, {diff['high']:.4f}] of the {metric} difference includes zero"
    return {"alias": CHAMPION if wins else CHALLENGER, "reason": reason,
            "champion_score": champion_eval.report[metric], "difference": diff["difference"],
            "ci_low": diff["low"], "ci_high": diff["high"], "candidate_score": cand_score}


def promote(model: str, dataset: str, *, run_id: str | None = None, store: PolarityStore | None = None,
            metric: str = "macro_f1", min_gain: float = 0.0, dry_run: bool = False, n_boot: int = 1000,
            seed: int = 0, max_rounds: int = 3) -> Decision:
    if metric not in RANKING_METRICS:
        raise ConfigError(f"unknown metric {metric!r}; expected one of {', '.join(RANKING_METRICS)}")
    name = registered_name(model, dataset)
    run = get_run(run_id) if run_id else best_training_run(model, dataset, metric)
    if "model_uri" not in run.data.tags:
        raise TrackingError(f"run {run.info.run_id} has no logged model")
    if run.data.tags.get("model") != model_spec(model).name:
        raise ConfigError(f"run {run.info.run_id} trained {run.data.tags.get('model')!r}, not {model!r}")
    if store is None:
        if "store" not in run.data.params:
            raise ConfigError(f"run {run.info.run_id} names no store (an imported model?): give --store")
        store = PolarityStore(run.data.params["store"])
    fingerprint = run.data.tags.get("store_fingerprint")
    if fingerprint is not None and fingerprint != store.fingerprint:  # None: an imported published model
        raise ConfigError(f"candidate run {run.info.run_id} was trained on store {fingerprint[:16]}, but "
                          f"{store.path} has fingerprint {store.fingerprint[:16]}: scores would not be comparable")
    candidate_eval = evaluate_model(load_model(run.data.tags["model_uri"]), store, "test", n_boot=0)
    for _ in range(max_rounds):
        champion = alias_version(name, CHAMPION)
        if champion is not None and champion.run_id == run.info.run_id:
            return _record(Decision(name, run.info.run_id, str(champion.version), str(champion.version), metric,
                                    candidate_eval.report[metric], candidate_eval.report[metric], 0.0, 0.0, 0.0,
                                    min_gain, CHAMPION, "candidate is already the champion", dry_run,
                                    store.fingerprint), run, store, None)
        champion_eval = None
        if champion is not None:
            champ_fp = champion.tags.get("store_fingerprint")
            if champ_fp and champ_fp != store.fingerprint:
                raise ConfigError(f"champion {name} v{champion.version} was trained on store {champ_fp[:16]}, the "
                                  f"candidate on {store.fingerprint[:16]}: refusing to compare across stores")
            champion_eval = evaluate_model(load_model(f"models:/{name}/{champion.version}"), store, "test",
                                           n_boot=0)
        verdict = _decide(metric, min_gain, candidate_eval, champion_eval, n_boot, seed)
        decision = Decision(name, run.info.run_id, None, str(champion.version) if champion else None, metric,
                            verdict["candidate_score"], verdict["champion_score"], verdict["difference"],
                            verdict["ci_low"], verdict["ci_high"], min_gain, verdict["alias"], verdict["reason"],
                            dry_run, store.fingerprint)
        if dry_run:
            return _record(decision, run, store, None)
        version = register(run, name)
        decision.candidate_version = str(version.version)
        now = alias_version(name, CHAMPION)
        if (str(now.version) if now else None) != decision.compared_version:
            continue  # another promotion moved the champion while we evaluated: compare with the new one
        client = MlflowClient()
        for key, value in decision.as_dict().items():
            client.set_model_version_tag(name, version.version, f"promotion.{key}", json.dumps(value))
        client.set_registered_model_alias(name, decision.alias, version.version)
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
                        "min_gain": decision.min_gain, "compared_version": decision.compared_version,
                        "candidate_version": decision.candidate_version})
        log.log_metrics({k: v for k, v in decision.as_dict().items()
                         if k in ("candidate_score", "champion_score", "difference", "ci_low", "ci_high")
                         and v is not None})
        log.log_dict(decision.as_dict(), "promotion.json")
    if version is not None:
        MlflowClient().log_dict(decision.candidate_run_id, decision.as_dict(),
                                f"promotion/{int(time.time())}-{decision.alias}.json")
    return decision


def model_uri(name: str, alias: str = CHAMPION) -> str:
    return f"models:/{name}@{alias}"


def log_and_register_imported(model, name: str, dataset: str, source_file: str, store: PolarityStore | None,
                              input_example, custom_objects, model_name: str) -> tuple[str, str]:
    """A run holding an imported model (the original code's .h5), registered under ``name``."""
    tags = tracking.standard_tags(model=model_name, dataset=dataset,
                                  store_fingerprint=store.fingerprint if store else None, seed=None,
                                  kind="import", source_file=source_file)
    with tracking.run(tracking.experiment_name("train", dataset), f"import-{name}", tags) as log:
        log.log_params({"source_file": source_file})
        tracking.log_keras_model(model, input_example, custom_objects)
    version = register(MlflowClient().get_run(log.run_id), name)
    return log.run_id, str(version.version)


