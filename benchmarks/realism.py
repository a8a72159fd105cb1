"""Realism report: real windows (every case in data/real/) beside synthetic Hi-net windows of the generator.

Four figures, logged to MLflow (experiment attpd/realism) and written to benchmarks/_work/realism/, for the
real windows of each case (the shipped one: Hi-net, one M4.4), the synthetic ones, and the synthetic ones of
M >= 4 events:
a grid of example windows, their mean amplitude spectra, the distribution of the first motion's amplitude over
the window's peak, of the pre-P noise over the window's peak, and of the level just before P against the
label's sign (the zero-phase band-pass's precursor); and a table of those statistics' quartiles, of the onset's
clarity (first motion over pre-P noise) of the traces each analyst labelled up or down and of those left unknown,
and the first-motion baseline's balanced accuracy on each. Nothing here feeds back into the generator: it is a
report of what is still unlike the Earth.

Usage: python benchmarks/realism.py [--events 150]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import WORK, markdown_table  # noqa: E402

from attpd_bench import sim_to_real  # noqa: E402
from attpd_bench.data.labels import DOWN, UNKNOWN, UP  # noqa: E402
from attpd_bench.data.prepare import prepare_store  # noqa: E402
from attpd_bench.data.preprocess import model_windows  # noqa: E402
from attpd_bench.data.synth import TRUTH_FILE, write_region  # noqa: E402
from attpd_bench.models.first_motion import FirstMotionPicker  # noqa: E402

P = 200  # the P sample of a model window
LARGE_MAGNITUDE = 4.0  # the synthetic events comparable in size to the real M4.4


def onset_statistics(windows: np.ndarray) -> dict[str, np.ndarray]:
    """Per window (max-abs normalised): the first motion's amplitude (largest |sample| in the 0.1 s after P)
    over the window's peak, and the pre-P noise (largest |sample| in the second before P) over the peak."""
    return {"first motion / peak": np.abs(windows[:, P:P + 10]).max(axis=1),
            "pre-P noise / peak": np.abs(windows[:, P - 100:P - 5]).max(axis=1)}


def onset_clarity(stats: dict[str, np.ndarray]) -> np.ndarray:
    """Per window of :func:`onset_statistics`: the first motion over the pre-P noise, the onset's clarity as one
    sees it on the window; split by label it shows where each analyst's "unknown" lies."""
    return stats["first motion / peak"] / np.maximum(stats["pre-P noise / peak"], 1e-6)


def unclear_onsets(clarity: dict[str, np.ndarray], sets: dict, large: np.ndarray) -> str:
    """Where the real labelled onsets that the synthetic set calls unknown sit: at or below the median clarity of
    the synthetic M >= 4 unknowns (a threshold from the synthetic set alone), the real up/down traces per case,
    and the synthetic windows with their unknown share, overall and of M >= 4 events."""
    synthetic_clarity, synthetic_labels = clarity["synthetic Hi-net"], sets["synthetic Hi-net"][1]
    threshold = float(np.median(synthetic_clarity[large & (synthetic_labels == UNKNOWN)]))
    unclear = synthetic_clarity <= threshold
    real = [f"{int(np.sum(clarity[name][labelled] <= threshold))} of {int(labelled.sum())} up/down traces of {name}"
            for name, (_, labels) in sets.items() if name.startswith("real")
            for labelled in [np.isin(labels, (UP, DOWN))]]
    return (f"At a clarity of {threshold:.1f} or less (the median of the synthetic M >= {LARGE_MAGNITUDE} "
            f"unknowns): {'; '.join(real)}; {int(unclear.sum())} synthetic windows, "
            f"{np.mean(synthetic_labels[unclear] == UNKNOWN):.0%} unknown, {np.mean(large[unclear]):.0%} of them "
            f"from M >= {LARGE_MAGNITUDE} events, of which {np.mean(synthetic_labels[unclear & large] == UNKNOWN):.0%}"
            f" are unknown ({int(np.sum(unclear & large))} windows).")


def precursor_level(windows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per up/down window: the mean level of the 0.1 s before P times the label's sign (+1 up, -1 down). The
    store path's zero-phase band-pass spreads an onset backwards in time with the opposite sign (REFERENCE.md),
    so a negative value is that precursor; its size grows with the low-frequency content of the first motion."""
    signed = np.isin(labels, (UP, DOWN))
    sign = np.where(labels[signed] == UP, 1.0, -1.0)
    return windows[signed, P - 10:P].mean(axis=1) * sign


def mean_spectrum(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    taper = np.hanning(windows.shape[1])
    spectrum = np.abs(np.fft.rfft(windows * taper, axis=1))
    return np.fft.rfftfreq(windows.shape[1], 0.01), spectrum.mean(axis=0)


def run(events: int = 150) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = WORK / "realism"
    folder.mkdir(parents=True, exist_ok=True)
    raw, store_path = folder / "raw-hinet", folder / "store-hinet"
    if not (raw / "synth.json").exists():
        write_region("hinet", events, raw, seed=101)
    store = prepare_store("hinet", raw, store_path, seed=0, overwrite=True)[0]
    synthetic = model_windows(store.read_rows(np.arange(len(store))))
    synthetic_labels = store.labels()
    real = sim_to_real.read_cases(sim_to_real.real_cases())  # Kumamoto, and any case dropped into data/real/
    sets = {}
    for case in real.cases:
        here = real.case_of == case.name
        sets[f"real ({case.name})"] = (model_windows(real.stored[here]), real.labels[here])
    sets["synthetic Hi-net"] = (synthetic, synthetic_labels)
    # like with like: the real set is one M4.4 event, the synthetic set mostly small events
    # (the Hi-net layout carries no magnitude: the generator's truth table has it, by trace)
    truth = pd.read_csv(raw / TRUTH_FILE, usecols=["source_trace_name", "magnitude"]).set_index("source_trace_name")
    large = truth.loc[store.metadata["source_trace_name"], "magnitude"].to_numpy() >= LARGE_MAGNITUDE
    sets[f"synthetic Hi-net, M >= {LARGE_MAGNITUDE}"] = (synthetic[large], synthetic_labels[large])
    stats = {name: onset_statistics(w) for name, (w, _) in sets.items()}
    precursors = {name: precursor_level(w, labels) for name, (w, labels) in sets.items()}
    clarity = {name: onset_clarity(stats[name]) for name in sets}
    baseline = FirstMotionPicker()
    scores = {name: sim_to_real.score(labels, baseline.predict(w[..., None]).argmax(axis=1))
              for name, (w, labels) in sets.items()}

    fig, axes = plt.subplots(6, len(sets), figsize=(4.5 * len(sets), 9), sharex=True)
    t = (np.arange(400) - P) / 100
    for col, (name, (w, labels)) in enumerate(sets.items()):
        picked = np.flatnonzero(np.isin(labels, (UP, DOWN)))[:6]
        for row, i in enumerate(picked):
            axes[row, col].plot(t, w[i], lw=0.7, color="k")
            axes[row, col].axvline(0, color="r", lw=0.5)
            axes[row, col].text(0.01, 0.8, "UDK"[labels[i]], transform=axes[row, col].transAxes, fontsize=8)
        axes[0, col].set_title(name, fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("time after P (s)")
    fig.tight_layout()
    fig.savefig(folder / "examples.png", dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.5))
    for name, (w, _) in sets.items():
        f, a = mean_spectrum(w)
        axes[0].loglog(f[1:], a[1:] / a[1:].max(), label=name)
        for ax, (key, values) in zip(axes[1:], stats[name].items()):
            ax.hist(values, bins=np.linspace(0, 1, 21), density=True, histtype="step", label=name)
            ax.set_xlabel(key)
        axes[3].hist(precursors[name], bins=np.linspace(-0.15, 0.05, 21), density=True, histtype="step", label=name)
    axes[3].set_xlabel("level in the 0.1 s before P x label sign")
    axes[0].set_xlabel("frequency (Hz)")
    axes[0].set_ylabel("mean amplitude spectrum (normalised)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "distributions.png", dpi=120)
    plt.close(fig)

    rows = []
    for name in sets:
        quartiles = {k: np.percentile(v, [25, 50, 75]) for k, v in stats[name].items()}
        rows.append([name, len(sets[name][0]),
                     *(f"{q[1]:.2f} [{q[0]:.2f}-{q[2]:.2f}]" for q in quartiles.values()),
                     "{1:.3f} [{0:.3f}, {2:.3f}]".format(*np.percentile(precursors[name], [25, 50, 75])),
                     *("{1:.1f} [{0:.1f}-{2:.1f}]".format(*np.percentile(clarity[name][chosen], [25, 50, 75]))
                       if chosen.any() else "none"
                       for chosen in (np.isin(sets[name][1], (UP, DOWN)), sets[name][1] == UNKNOWN)),
                     f"{scores[name]['balanced_accuracy']:.2f} ({scores[name]['coverage']:.2f})"])
    _log(folder, rows)
    return markdown_table(["windows", "n", "first motion / peak, median [IQR]", "pre-P noise / peak, median [IQR]",
                           "level before P x label sign, median [IQR] (U/D)",
                           "first motion / pre-P noise, U/D: median [IQR]", "the same, unknown",
                           "first-motion baseline: balanced accuracy (coverage) on U/D"], rows) + \
        f"\n\n{unclear_onsets(clarity, sets, large)}\n\nFigures: {folder / 'examples.png'}, {folder / 'distributions.png'} (and in MLflow, attpd/realism)."


def _log(folder: Path, rows: list) -> None:
    from attpd_bench import tracking

    tracking.configure(f"sqlite:///{folder / 'mlflow.db'}")
    tags = tracking.standard_tags(model=None, dataset="hinet", store_fingerprint=None, seed=101, kind="realism")
    with tracking.run(tracking.experiment_name("realism"), "realism", tags) as log:
        for png in ("examples.png", "distributions.png"):
            log.log_artifact(folder / png, "figures")
        log.log_text("\n".join(str(r) for r in rows), "realism.txt")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150)
    print(run(parser.parse_args().events))
