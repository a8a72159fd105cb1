"""Matplotlib figures logged as MLflow artifacts (drawn off-screen)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from attpd_bench.data.labels import CLASS_NAMES  # noqa: E402


def learning_curves(history: dict[str, list[float]], best_epoch: int | None = None, title: str = ""):
    """Loss and accuracy per epoch, train and dev, with the restored (best) epoch marked."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + key)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, label=("dev " if prefix else "train ") + key)
        if best_epoch is not None:
            ax.axvline(best_epoch + 1, color="grey", lw=0.8, label="restored epoch")
        ax.set_xlabel("epoch"), ax.set_ylabel(key), ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix_figure(cm, title: str = ""):
    """Counts and row-normalised (recall) confusion matrices side by side."""
    cm = np.asarray(cm, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = cm / cm.sum(axis=1, keepdims=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, data, fmt, name in ((axes[0], cm, "{:.0f}", "counts"), (axes[1], norm, "{:.2f}", "row-normalised")):
        ax.imshow(np.nan_to_num(data), cmap="Blues")
        for (i, j), v in np.ndenumerate(data):
            ax.text(j, i, "-" if np.isnan(v) else fmt.format(v), ha="center", va="center", fontsize=9)
        ax.set_xticks(range(3), CLASS_NAMES), ax.set_yticks(range(3), CLASS_NAMES)
        ax.set_xlabel("predicted"), ax.set_ylabel("label"), ax.set_title(name)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def matrix_heatmap(matrix, rows, cols, title: str = "", fmt: str = "{:.3f}", diverging: bool = False):
    """A labelled heatmap (transfer matrices: rows = training data set, columns = test data set)."""
    m = np.asarray(matrix, dtype=float)
    fig, ax = plt.subplots(figsize=(1.4 * len(cols) + 2, 1.1 * len(rows) + 1.5))
    lim = np.nanmax(np.abs(m)) if diverging and np.isfinite(m).any() else None
    ax.imshow(np.nan_to_num(m), cmap="RdBu" if diverging else "viridis",
              vmin=-lim if lim else None, vmax=lim if lim else None)
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, "-" if np.isnan(v) else fmt.format(v), ha="center", va="center", fontsize=9,
                color="black" if diverging else "white")
    ax.set_xticks(range(len(cols)), cols), ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("tested on"), ax.set_ylabel("trained on"), ax.set_title(title)
    fig.tight_layout()
    return fig


def close(fig) -> None:
    plt.close(fig)


def close_all() -> None:
    plt.close("all")
