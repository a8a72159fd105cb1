"""The demo summary's transfer verdict: who carries best from one region to another, and no winner of a tie."""

from __future__ import annotations

import pandas as pd
import pytest

from attpd_bench.demo import transfer_verdict
from attpd_bench.transfer import TransferResult

REGIONS = ["ins", "hinet"]


def _transfer(pd_out: float, ross_out: float) -> TransferResult:
    summary = pd.DataFrame({"macro_f1_in_domain": [0.80, 0.70], "macro_f1_out_of_domain": [pd_out, ross_out]},
                           index=["pd", "ross"])
    cells = [(s, t) for s in REGIONS for t in REGIONS]
    difference = pd.DataFrame({"source": [s for s, _ in cells], "target": [t for _, t in cells],
                               "model_a": "pd", "model_b": "ross", "metric": "macro_f1",
                               "difference": [0.0, 0.1, -0.2, 0.0], "ci_low": [0.0, 0.05, -0.3, 0.0],
                               "ci_high": [0.0, 0.2, -0.1, 0.0], "mcnemar_p": 0.5})
    return TransferResult(parent_run_id="r", names=REGIONS, matrices={}, summary=summary, difference=difference)


def test_the_verdict_names_the_model_with_the_higher_out_of_domain_mean():
    text = transfer_verdict(_transfer(0.612, 0.518))
    assert text.startswith("Transfers best on average: **pd** (mean out-of-domain macro-F1 0.612 vs ross 0.518; "
                           "in-domain 0.800 vs 0.700)")
    assert "of the 2 out-of-domain cells 1 favour pd, 1 favour ross and 0 are inconclusive" in text


def test_a_tie_at_the_printed_precision_names_no_winner():
    text = transfer_verdict(_transfer(0.5181, 0.5178))  # both print as 0.518
    assert text.startswith("Transfers equally well on average: **pd** and **ross** (mean out-of-domain macro-F1 "
                           "0.518 vs ross 0.518")
    assert "best" not in text


def test_a_failed_study_cancels_the_studies_not_yet_started():
    """run_studies' rule: the first failed study's error is raised at once, and the pool is told to cancel
    the studies still queued (not to wait for them), however the later ones would end."""
    from concurrent.futures import Future, ProcessPoolExecutor

    from attpd_bench.demo import wait_or_cancel

    class Pool:  # stands for the ProcessPoolExecutor: its shutdown is what cancels the queued studies
        calls = []

        def shutdown(self, wait=True, *, cancel_futures=False):
            self.calls.append(cancel_futures)
            for future in futures[1:]:
                if cancel_futures:
                    future.cancel()

    futures = [Future() for _ in range(4)]
    futures[0].set_exception(RuntimeError("study 0 failed"))
    pool = Pool()
    with pytest.raises(RuntimeError, match="study 0 failed"):
        wait_or_cancel(pool, futures)  # would block on futures[1] if it waited for the others
    assert pool.calls == [True] and all(f.cancelled() for f in futures[1:])
    assert "cancel_futures" in ProcessPoolExecutor.shutdown.__code__.co_varnames  # the real pool's keyword
