"""The demo summary's transfer verdict: who carries best from one region to another, and no winner of a tie."""

from __future__ import annotations

import pandas as pd

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
