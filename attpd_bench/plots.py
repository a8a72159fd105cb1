"""Matplotlib figures logged as MLflow artifacts (drawn off-screen)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from attpd_bench.data.labels import CLASS_NAMES  # noqa: E402


def learning_curves(history: dict[str, list[float]], best_epoch: int | None = None, title: str = ""):
    """Loss and accuracy per epoch, train and dev, with the restored (best) epoch marked."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, key in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + key)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, label=("dev " if prefix else "train ") + key)
        if best_epoch is not None:  # best_epoch is Keras' 0-based index; epochs are numbered from 1 here
            ax.axvline(best_epoch + 1, color="grey", lw=0.8, label=f"restored epoch {best_epoch + 1}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def _annotated_heatmap(fig, ax, data: np.ndarray, fmt: str, cmap: str, vmin=None, vmax=None):
    """Cells coloured by value with a colour bar; each annotated in black or white, whichever reads on the
    cell (by its luminance); undefined (NaN) cells hatched and marked "n/a"; no grid through the cells."""
    colours = plt.get_cmap(cmap).with_extremes(bad="white")
    image = ax.imshow(np.ma.masked_invalid(data), cmap=colours, vmin=vmin, vmax=vmax)
    ax.grid(False)
    for (i, j), v in np.ndenumerate(data):
        if np.isnan(v):
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.6", lw=0))
            ax.text(j, i, "n/a", ha="center", va="center", fontsize=9, color="black")
            continue
        r, g, b, _ = image.cmap(image.norm(v))
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=9,
                color="black" if luminance > 0.5 else "white")
    fig.colorbar(image, ax=ax, shrink=0.85)


def confusion_matrix_figure(cm, title: str = ""):
    """Counts and row-normalised (recall) confusion matrices side by side."""
    cm = np.asarray(cm, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = cm / cm.sum(axis=1, keepdims=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for ax, data, fmt, name, top in ((axes[0], cm, "{:.0f}", "counts", None),
                                     (axes[1], norm, "{:.2f}", "row-normalised (recall)", 1.0)):
        _annotated_heatmap(fig, ax, data, fmt, "Blues", vmin=0, vmax=top)
        ax.set_xticks(range(3), CLASS_NAMES)
        ax.set_yticks(range(3), CLASS_NAMES)
        ax.set_xlabel("predicted")
        ax.set_ylabel("label")
        ax.set_title(name)
    fig.suptitle(title)
    return fig


def matrix_heatmap(matrix, rows, cols, title: str = "", fmt: str = "{:.3f}", diverging: bool = False):
    """A labelled heatmap (transfer matrices: rows = training data set, columns = test data set)."""
    m = np.asarray(matrix, dtype=float)
    fig, ax = plt.subplots(figsize=(1.4 * len(cols) + 3, 1.1 * len(rows) + 1.5), layout="constrained")
    lim = float(np.nanmax(np.abs(m))) if diverging and np.isfinite(m).any() else None
    _annotated_heatmap(fig, ax, m, fmt, "RdBu" if diverging else "viridis",
                       vmin=-lim if lim else None, vmax=lim if lim else None)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("tested on")
    ax.set_ylabel("trained on")
    ax.set_title(title)
    return fig


def risk_coverage_figure(curves: dict[str, dict], title: str = ""):
    """Sign accuracy (left) and balanced accuracy, an abstention counting as wrong (right), against coverage as
    each picker's abstention threshold falls (:func:`metrics.risk_coverage`), one line per picker."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for name, curve in curves.items():
        for ax, key in zip(axes, ("sign_accuracy", "balanced_accuracy")):
            ax.plot(curve["coverage"], curve[key], "-", drawstyle="steps-post", label=name)
    for ax, label in zip(axes, ("sign accuracy of the answers", "balanced accuracy (abstention = wrong)")):
        ax.set_xlabel("coverage (share of up / down traces answered)")
        ax.set_ylabel(label)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    return fig


def close(fig) -> None:
    plt.close(fig)


def close_all() -> None:
    plt.close("all")


def beachballs(table, title: str = "", n_events: int = 6):
    """True (top) and recovered (bottom) mechanisms of a few events, spread over the range of Kagan angles
    (lower-hemisphere projections, compressional quadrants shaded; ObsPy's beachball)."""
    from obspy.imaging.beachball import beach

    solved = table[table["has_mechanism"] & table["eligible"]].sort_values("kagan_deg")
    if len(solved) > n_events:  # evenly spaced in rank: the best, the worst and between
        solved = solved.iloc[np.unique(np.linspace(0, len(solved) - 1, n_events).round().astype(int))]
    n = max(len(solved), 1)
    fig, axes = plt.subplots(2, n, figsize=(1.9 * n + 0.8, 4.4), layout="constrained", squeeze=False)
    for ax in axes.ravel():
        ax.set_xlim(-1.1, 1.1)
        ax.set_ylim(-1.1, 1.1)
        ax.set_aspect("equal")
        ax.axis("off")
    for k, row in enumerate(solved.itertuples()):
        for r, (prefix, colour) in enumerate((("true_", "tab:blue"), ("", "tab:red"))):
            plane = [getattr(row, prefix + name) for name in ("strike", "dip", "rake")]
            axes[r, k].add_collection(beach(plane, xy=(0, 0), width=2.0, facecolor=colour, linewidth=0.8))
        axes[0, k].set_title(f"event {row.event_id}", fontsize=8)
        axes[1, k].set_title(f"{row.kagan_deg:.0f}° (quality {row.quality})", fontsize=8)
    if len(solved) == 0:
        axes[0, 0].text(0, 0, "no mechanism", ha="center", va="center")
    axes[0, 0].text(-1.25, 0, "true", rotation=90, ha="right", va="center")
    axes[1, 0].text(-1.25, 0, "SKHASH", rotation=90, ha="right", va="center")
    fig.suptitle(title)
    return fig


def kagan_histogram(table, title: str = ""):
    """Kagan angles between recovered and true mechanisms (eligible events), median marked."""
    kagan = table.loc[table["has_mechanism"] & table["eligible"], "kagan_deg"].to_numpy()
    fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    ax.hist(kagan, bins=np.arange(0, 125, 5), color="0.55", edgecolor="white")
    if len(kagan):
        ax.axvline(np.median(kagan), color="tab:red", lw=1.2, label=f"median {np.median(kagan):.1f}°")
        ax.legend(fontsize=8)
    ax.set_xlim(0, 120)
    ax.set_xlabel("Kagan angle to the true mechanism (degrees)")
    ax.set_ylabel("events")
    ax.set_title(f"{title} ({len(kagan)} mechanisms)", fontsize=10)
    return fig
