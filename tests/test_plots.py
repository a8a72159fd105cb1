"""Figures a reader can use: annotations readable on their cells, NaN cells marked, colour bars, no grid."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from attpd_bench import plots


def _cells(ax) -> dict[str, str]:
    return {t.get_text(): t.get_color() for t in ax.texts}


def test_heatmap_annotations_nan_cells_and_colour_bar():
    plt.style.use("ggplot")  # Optuna's figures switch this style on, grid included
    matrix = np.array([[0.001, 0.999, np.nan], [0.5, 0.25, 0.75], [0.0, 1.0, 0.9]])
    fig = plots.matrix_heatmap(matrix, ["a", "b", "c"], ["a", "b", "c"], "sign accuracy")
    ax = fig.axes[0]
    cells = _cells(ax)
    assert cells["n/a"] == "black" and "nan" not in cells and "-" not in cells
    assert cells["0.001"] == "white" and cells["0.999"] == "black"  # viridis: dark purple, light yellow
    assert any(p.get_hatch() == "///" for p in ax.patches)
    assert len(fig.axes) == 2  # the colour bar
    assert not any(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines())
    plots.close(fig)
    plt.style.use("default")


def test_diverging_heatmap_and_confusion_matrix():
    fig = plots.matrix_heatmap(np.array([[-0.3, 0.0], [0.3, np.nan]]), ["x", "y"], ["x", "y"], fmt="{:+.3f}",
                               diverging=True)
    cells = _cells(fig.axes[0])
    assert cells["-0.300"] == "white" and cells["+0.000"] == "black" and "n/a" in cells
    plots.close(fig)
    fig = plots.confusion_matrix_figure(np.array([[50, 1, 0], [2, 40, 3], [0, 0, 0]]))
    counts, recall = fig.axes[0], fig.axes[1]
    assert _cells(counts)["50"] == "white" and _cells(counts)["1"] == "black"
    assert [t.get_text() for t in recall.texts].count("n/a") == 3  # no trace labelled unknown: undefined
    assert len(fig.axes) == 4
    plots.close(fig)


def test_learning_curve_marks_the_restored_epoch_from_one():
    fig = plots.learning_curves({"loss": [1.0, 0.5, 0.6], "val_loss": [1.1, 0.7, 0.8]}, best_epoch=1)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "restored epoch 2" in labels
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2, 3]
    plots.close(fig)
