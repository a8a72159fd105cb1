"""Cross-region transfer: train each model on each source store, test on every store's test split.

Per model a matrix (rows = training data set, columns = test data set) of accuracy, macro-F1 and sign
accuracy; in-domain mean (diagonal), out-of-domain mean (off-diagonal) and the transfer gap; and, for the
first two models (PD - Ross by default), the difference per cell with a paired event-bootstrap interval and
McNemar's test on the same target traces. ``first-motion`` among the models adds the untrained baseline (the
same rule in every row, so its rows are equal: what every learned picker must beat per target). Training is early-stopped on the *source's* dev split only; a finished
training run with the same store fingerprint, model and configuration is reused, not retrained.

MLflow: one parent run in ``attpd/transfer``; one child run per (model, source) holding that row of scores
and a link to its training run (which lives in ``attpd/<dataset>`` like any other training run).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attpd_bench import metrics as M
from attpd_bench import plots, tracking
from attpd_bench.console import console
from attpd_bench.data.store import PolarityStore
from attpd_bench.errors import ConfigError
from attpd_bench.models import load_model
from attpd_bench.models.first_motion import FIRST_MOTION, FirstMotionPicker
from attpd_bench.pipeline import predict_probabilities
from attpd_bench.train import TrainConfig, find_finished_run, train_and_log

MATRIX_METRICS = ("accuracy", "macro_f1", "sign_accuracy")


@dataclass
class TransferResult:
    parent_run_id: str
    names: list[str]
    matrices: dict[str, dict[str, pd.DataFrame]]  # model -> metric -> (source x target)
    summary: pd.DataFrame  # model x (in-domain, out-of-domain, gap) per metric
    difference: pd.DataFrame | None  # long table per cell: difference, interval, McNemar
    training_runs: dict[tuple[str, str], str] = field(default_factory=dict)
    reused: dict[tuple[str, str], bool] = field(default_factory=dict)

    def difference_matrix(self, column: str = "difference") -> pd.DataFrame:
        return self.difference.pivot(index="source", columns="target", values=column).loc[self.names, self.names]


def _summary(matrix: pd.DataFrame) -> tuple[float, float, float]:
    m = matrix.to_numpy(dtype=float)
    diag = np.diag(m)
    off = m[~np.eye(len(m), dtype=bool)]
    in_dom = float(np.nanmean(diag)) if np.isfinite(diag).any() else np.nan
    out_dom = float(np.nanmean(off)) if off.size and np.isfinite(off).any() else np.nan
    return in_dom, out_dom, in_dom - out_dom


def run_transfer(models: list[str], stores: dict[str, PolarityStore], base: TrainConfig, *,
                 metric: str = "macro_f1", n_boot: int = 1000, seed: int = 0, run_name: str | None = None,
                 configs: dict[tuple[str, str], TrainConfig] | None = None) -> TransferResult:
    """``configs[(model, source)]`` (e.g. each study's tuned configuration) overrides ``base`` for that row."""
    if not models:
        raise ConfigError("--models names no model")
    if len(stores) < 1:
        raise ConfigError("give at least one --store NAME=PATH")
    if metric not in MATRIX_METRICS:
        raise ConfigError(f"unknown transfer metric {metric!r}; expected one of {', '.join(MATRIX_METRICS)}")
    names = list(stores)
    tags = tracking.standard_tags(model=",".join(models), dataset=",".join(names), store_fingerprint=None,
                                  seed=base.seed, kind="transfer",
                                  stores=";".join(f"{n}={s.fingerprint[:16]}" for n, s in stores.items()))
    preds: dict[tuple[str, str, str], np.ndarray] = {}
    scores: dict[tuple[str, str, str], dict] = {}
    training_runs, reused = {}, {}
    with tracking.run(tracking.experiment_name("transfer"), run_name, tags, active=False) as parent:
        parent_id = parent.run_id
        parent.log_params({"models": ",".join(models), "stores": ",".join(names), "metric": metric,
                             "n_boot": n_boot, **{f"train_{k}": v for k, v in base.params().items()
                                                  if k != "model"}})
        for model in models:
            for source in names:
                store = stores[source]
                found = None
                if model == FIRST_MOTION:  # nothing to train: the same rule in every row
                    config, run_id, keras_model = base, "", FirstMotionPicker()
                else:
                    config = (configs or {}).get((model, source)) or dataclasses.replace(base, model=model)
                    config = config.resolved()
                    found = find_finished_run(store, config)
                    if found is not None:
                        console.print(f"{model} on {source}: reusing finished run {found.info.run_id}")
                        run_id, keras_model = found.info.run_id, load_model(found.data.tags["model_uri"])
                    else:
                        console.print(f"{model} on {source}: training")
                        outcome = train_and_log(store, config, run_name=f"{model}-{source}",
                                                tags={"transfer_parent": parent_id})
                        run_id, keras_model = outcome.run_id, outcome.fit.model
                training_runs[(model, source)], reused[(model, source)] = run_id, found is not None
                row = _score_row(model, source, keras_model, names, stores, preds, scores)
                child_tags = tracking.standard_tags(model=model, dataset=store.dataset,
                                                    store_fingerprint=store.fingerprint, seed=config.seed,
                                                    kind="transfer-row", training_run_id=run_id,
                                                    reused=str(found is not None).lower(), source=source)
                with tracking.run(tracking.experiment_name("transfer"), f"{model}@{source}", child_tags,
                                  parent_run_id=parent_id) as child:
                    child.log_params({"model": model, "source": source, "training_run_id": run_id})
                    child.log_metrics(row)
        matrices = {m: {k: pd.DataFrame([[scores[(m, s, t)][k] for t in names] for s in names], index=names,
                                        columns=names) for k in MATRIX_METRICS} for m in models}
        summary = pd.DataFrame({m: {f"{k}_{part}": v for k in MATRIX_METRICS
                                    for part, v in zip(("in_domain", "out_of_domain", "gap"),
                                                       _summary(matrices[m][k]))} for m in models}).T
        difference = _paired(models, names, stores, preds, metric, n_boot, seed) if len(models) >= 2 else None
        result = TransferResult(parent_id, names, matrices, summary, difference, training_runs, reused)
        _log_outputs(parent, result, metric)
    return result


def _score_row(model, source, keras_model, names, stores, preds, scores) -> dict:
    """Scores of one trained model on every target's test split (into ``preds`` and ``scores``)."""
    row = {}
    for target in names:
        tstore = stores[target]
        probs = predict_probabilities(keras_model, tstore, "test")
        preds[(model, source, target)] = probs.argmax(axis=1)
        report = M.classification_report(tstore.labels("test"), probs.argmax(axis=1))
        scores[(model, source, target)] = report
        row.update({f"{target}_{k}": report[k] for k in MATRIX_METRICS})
    return row


def _paired(models, names, stores, preds, metric, n_boot, seed) -> pd.DataFrame:
    a, b = models[0], models[1]
    rows = []
    for source in names:
        for target in names:
            tstore = stores[target]
            labels = tstore.labels("test")
            events = tstore.metadata["source_id"].to_numpy()[tstore.rows("test")]
            pa, pb = preds[(a, source, target)], preds[(b, source, target)]
            diff = M.paired_bootstrap_difference(labels, pa, pb, events, metric, n_boot=n_boot, seed=seed)
            test = M.mcnemar(pa == labels, pb == labels)
            rows.append({"source": source, "target": target, "model_a": a, "model_b": b, "metric": metric,
                         "difference": diff["difference"], "ci_low": diff["low"], "ci_high": diff["high"],
                         "mcnemar_p": test["p_value"], "only_a_right": test["only_a"],
                         "only_b_right": test["only_b"]})
    return pd.DataFrame(rows)


def markdown_report(result: TransferResult, metric: str = "macro_f1") -> str:
    parts = []
    for model, by_metric in result.matrices.items():
        for key in MATRIX_METRICS:
            parts.append(f"### {model}: {key} (rows = trained on, columns = tested on)\n\n"
                         + by_metric[key].to_markdown(floatfmt=".3f"))
    parts.append("### in-domain (diagonal) / out-of-domain (off-diagonal) means and gap\n\n"
                 + result.summary.T.to_markdown(floatfmt=".3f"))
    if result.difference is not None:
        d = result.difference
        a, b = d["model_a"].iloc[0], d["model_b"].iloc[0]
        cell = d.assign(cell=[f"{x:+.3f} [{lo:+.3f}, {hi:+.3f}] p={p:.3g}" for x, lo, hi, p in
                              zip(d["difference"], d["ci_low"], d["ci_high"], d["mcnemar_p"])])
        table = cell.pivot(index="source", columns="target", values="cell").loc[result.names, result.names]
        parts.append(f"### {a} - {b}: {d['metric'].iloc[0]} difference, 95% paired event-bootstrap interval, "
                     f"McNemar p\n\n" + table.to_markdown())
    return "\n\n".join(parts) + "\n"


def _log_outputs(log: tracking.RunLogger, result: TransferResult, metric: str) -> None:
    names = result.names
    for model, by_metric in result.matrices.items():
        for key in MATRIX_METRICS:
            log.log_text(by_metric[key].rename_axis("trained on \\ tested on").to_csv(),
                         f"matrices/{model}_{key}.csv")
            log.log_figure(plots.matrix_heatmap(by_metric[key], names, names, f"{model}: {key}"),
                           f"figures/{model}_{key}.png")
        log.log_metrics({f"{model}_{k}": v for k, v in result.summary.loc[model].items()})
    log.log_text(result.summary.rename_axis("model").to_csv(), "matrices/summary.csv")
    if result.difference is not None:
        d = result.difference
        a, b = d["model_a"].iloc[0], d["model_b"].iloc[0]
        log.log_text(d.to_csv(index=False), f"matrices/{a}_minus_{b}.csv")
        log.log_figure(plots.matrix_heatmap(result.difference_matrix(), names, names, f"{a} - {b}: {metric}",
                                            fmt="{:+.3f}", diverging=True), f"figures/{a}_minus_{b}.png")
    log.log_text(markdown_report(result, metric), "matrices/transfer.md")
