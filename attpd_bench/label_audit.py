"""``attpd audit labels``: the traces whose analyst label is most likely wrong.

Confident learning (:mod:`label_issues`, cleanlab) on a model's out-of-sample probabilities (the model's own on
a split it never saw, or those of K retrainings of its run's configuration, :mod:`cross_validation`), with the
mechanisms' vote of a reversal audit (:mod:`audit`) where given; scored against a synthetic region's planted label
errors, and written as a ranked table and, on request, a relabelled copy of the store. Its folder is an audit's
folder (:func:`audit.check_out`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attpd_bench import outputs
from attpd_bench.audit import EVIDENCE_TABLE, check_out, claim
from attpd_bench.console import console
from attpd_bench.errors import ConfigError, DataError
from attpd_bench.focal import closure

ISSUES_TABLE = "label_issues.csv"


def audited_split(split: str | None, cross_validate: int | None) -> str:
    """``--split`` as given, else test (a trained model's held-out split) or, cross-validated, the whole store."""
    return split or ("all" if cross_validate else "test")


def _trained_on(trained: dict, store, split: str) -> bool:
    """Did the training run (its tags) see traces of ``split`` of ``store``? The same store, a relabelled copy
    of it (same waveforms and split, other labels) or another prepare of its waveforms under another split (then
    any of its splits may hold training traces)."""
    identity = store.identity_tags()
    same_store = trained.get("store_fingerprint") == store.fingerprint
    same_waveforms = bool(identity) and trained.get("store_waveforms") == identity["store_waveforms"]
    same_splits = same_store or (bool(identity) and trained.get("store_splits") == identity["store_splits"])
    if not (same_store or same_waveforms):
        return False
    return split in ("train", "all") or not same_splits


def audit_labels(store: Path, model_uri: str, out: Path, *, split: str | None = None,
                 cross_validate: int | None = None, seed: int = 0,
                 reversal_audit: Path | None = None, relabel: Path | None = None, relabel_to: str = "suspected",
                 provenance: dict | None = None, batch_size: int = 1024,
                 overwrite: bool = False) -> tuple[pd.DataFrame, dict, str]:
    """The label audit of a store's split (see :mod:`label_issues`), logged as a run in ``attpd/audit/<dataset>``;
    (ranked issues, summary, run id). ``split``: test by default, all with ``cross_validate``.
    ``cross_validate`` K: instead of the model's own probabilities, those of K retrainings of its run's
    configuration on this store, each scoring the events it did not see (:mod:`cross_validation`, folds by
    ``seed``). ``reversal_audit``: a folder of ``attpd audit reversals`` on the same store, whose
    ``evidence.csv`` gives the mechanisms' votes."""
    from attpd_bench import label_issues, tracking
    from attpd_bench.data.store import SPLITS, PolarityStore, relabelled_copy
    from attpd_bench.focal.truth import aligned_truth, find_truth
    from attpd_bench.registry import training_run_params, training_run_tags

    out = check_out(out, overwrite=overwrite)
    opened = PolarityStore(store)
    split = audited_split(split, cross_validate)
    if split not in (*SPLITS, "all"):
        raise ConfigError(f"--split must be one of {', '.join(SPLITS)} or all, got {split!r}")
    if relabel_to not in label_issues.RELABEL_TARGETS:
        raise ConfigError(f"--relabel-to must be one of {', '.join(label_issues.RELABEL_TARGETS)}, got "
                          f"{relabel_to!r}")
    if relabel is not None and Path(relabel).exists():
        raise DataError(f"{relabel}: --relabel exists; the relabelled copy goes to a new folder")
    provenance = provenance or {"model_uri": model_uri}
    trained = training_run_tags(provenance)
    config = folds = None
    if cross_validate is not None:
        from attpd_bench.cross_validation import store_folds

        config = _retrainable_config(training_run_params(provenance), model_uri)
        folds = store_folds(opened, folds=cross_validate, seed=seed)
    elif trained.get("dataset") not in (None, opened.dataset):
        raise ConfigError(f"{model_uri} was trained on the {trained['dataset']} data set and {opened.path} holds "
                          f"{opened.dataset}: confident learning reads its probabilities as calibrated on this "
                          f"network's labels; use a model of {opened.dataset} that did not train on --split {split}, "
                          f"or first-motion")
    elif _trained_on(trained, opened, split):
        raise ConfigError(f"{model_uri} was trained on these traces ({opened.path}, or a copy or another prepare of "
                          f"its waveforms): its probabilities on --split {split} are not out-of-sample; audit "
                          f"--split dev or test of the store it trained on, or use a model that never saw them")
    votes = None
    if reversal_audit is not None:
        evidence_path = Path(reversal_audit) / EVIDENCE_TABLE
        if not evidence_path.is_file():
            raise DataError(f"{reversal_audit}: --reversal-audit is not a folder of `attpd audit reversals` (no "
                            f"{EVIDENCE_TABLE})")
        evidence = pd.read_csv(evidence_path, dtype={"event_id": str, "sta_code": str})
        votes = evidence.set_index(["event_id", "sta_code"])["vote"]
        votes = votes[~votes.index.duplicated()]
    rows = opened.rows(None if split == "all" else split)
    meta = opened.metadata.iloc[rows].reset_index(drop=True)
    labels = meta["label"].to_numpy(np.int64)
    claim(out)
    tags = tracking.standard_tags(model=None, dataset=opened.dataset, store_fingerprint=opened.fingerprint,
                                  seed=None, kind="audit-labels", polarities=model_uri,
                                  **{k: v for k, v in provenance.items() if k != "model_uri"})
    with tracking.run(tracking.experiment_name("audit", opened.dataset), f"labels-{closure.run_name(model_uri)}",
                      tags, active=False) as log:
        log.log_params({"store": str(opened.path), "model_uri": model_uri, "split": split,
                        "relabel_to": relabel_to if relabel else None, "method": "cleanlab find_label_issues "
                        "(prune_by_noise_rate, ranked by self_confidence)", "cross_validate": cross_validate})
        summary = {"traces": len(meta)}
        if config is None:
            probabilities = _model_probabilities(model_uri, opened, split, batch_size)
        else:
            probabilities, cv_summary = _cross_validated_probabilities(opened, config, folds, seed, log)
            probabilities = probabilities[rows]
            summary.update(cv_summary)
        issues = label_issues.find(meta, labels, probabilities, votes)
        summary.update({"issues_flagged": len(issues),
                        "issues_contradicted_by_mechanism": int(issues["mechanism_contradicts"].sum())})
        truth_path = find_truth(opened.path)
        if truth_path is not None:
            truth = aligned_truth(meta, truth_path)
            summary.update(label_issues.score(issues, truth["label_error"].to_numpy(bool)))
        if relabel is not None:
            new_labels = opened.metadata["label"].to_numpy(np.int8).copy()
            new_labels[rows] = label_issues.relabelled(labels, issues, relabel_to)
            relabelled_copy(opened, new_labels, Path(relabel),
                            note={"relabelled_traces": len(issues), "to": relabel_to, "audit_run": log.run_id})
            summary["relabelled_traces"] = len(issues)
        outputs.write_atomically(out / ISSUES_TABLE, issues.drop(columns=["row"]).to_csv(index=False))
        log.log_metrics(summary)
        log.log_artifact(out / ISSUES_TABLE)
    return issues, summary, log.run_id


def _retrainable_config(params: dict, model_uri: str):
    """The training configuration ``--cross-validate`` retrains: the one logged by the run behind ``model_uri``."""
    from attpd_bench.train import config_from_params

    if not params:  # a run that logged no configuration is config_from_params' error
        raise ConfigError(f"--cross-validate retrains the configuration of the run that trained --model-uri; "
                          f"{model_uri} names no training run in this tracking store (a file or first-motion has "
                          f"none: give runs:/RUN/model or models:/NAME@ALIAS)")
    config = config_from_params(params)
    if config.init_from is not None:
        raise ConfigError(f"--cross-validate cannot retrain {model_uri}: it was fine-tuned from {config.init_from}, "
                          f"whose weights may have seen the events a fold holds out; give the run of a training "
                          f"from scratch")
    return config


def _model_probabilities(model_uri: str, store, split: str, batch_size: int) -> np.ndarray:
    from attpd_bench.models import load_model
    from attpd_bench.pipeline import predict_probabilities

    model = load_model(model_uri)
    return predict_probabilities(model, store, None if split == "all" else split, batch_size=batch_size)


def _cross_validated_probabilities(store, config, splits: list, seed: int, log) -> tuple[np.ndarray, dict]:
    """Out-of-fold probabilities of every trace of ``store`` over the folds ``splits``; each fold's held-out score
    logged as it ends (``cv_held_out_macro_f1``, step = fold)."""
    from attpd_bench.cross_validation import out_of_fold_probabilities

    folds = len(splits)
    log.log_params({"cv_train_config": config.digest(), "cv_seed": seed, "cv_model": config.model,
                    "cv_epochs": config.epochs})

    def logged(score: dict) -> None:
        console.print(f"fold {score['fold'] + 1}/{folds}: trained on {score['n_train']} traces "
                      f"({score['epochs_run']} epochs), held-out macro-F1 {score['held_out_macro_f1']:.3f} on "
                      f"{score['n_held_out']}", highlight=False)
        log.log_metrics({"cv_held_out_macro_f1": score["held_out_macro_f1"], "cv_epochs_run": score["epochs_run"]},
                        step=score["fold"])

    cv = out_of_fold_probabilities(store, config, splits, on_fold=logged)
    return cv.probabilities, {"cv_folds": folds, "cv_macro_f1": cv.macro_f1}
