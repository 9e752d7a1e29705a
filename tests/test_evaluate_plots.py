"""Evaluation figures: the ROC legend off the plotting area, the confusion matrix as a clickable table."""

from __future__ import annotations

import numpy as np

from workbench.evaluate.plots import CORNER, LEGEND_COLUMNS, confusion_table, roc_figure


def _curve(auc):
    return {"fpr": [0, 0.2, 1], "tpr": [0, 0.8, 1], "auc": auc, "eer": 0.2, "eer_threshold": 0.5}


def test_roc_legend_sits_in_a_bottom_margin_sized_for_its_rows():
    for n_classes in (1, 10):
        fig = roc_figure({f"class {k}": _curve(0.9) for k in range(n_classes)})
        legend, layout = fig.layout.legend, fig.layout
        # anchored at the bottom of the whole figure, not in plot coordinates (y=-0.2 there covered the x axis)
        assert (legend.yref, legend.y, legend.yanchor) == ("container", 0, "bottom")
        rows = -(-len(fig.data) // LEGEND_COLUMNS)
        assert layout.margin.b >= 80 + 22 * rows and layout.height - layout.margin.b >= 300  # plot keeps its size
        assert legend.entrywidthmode == "fraction" and legend.entrywidth * LEGEND_COLUMNS <= 1


def test_confusion_table_cells_are_counts_with_row_share_coloured_by_it():
    cm = np.array([[8, 2, 0], [1, 0, 0], [0, 5, 5]])
    styler = confusion_table(cm, ["a", "b", "c"])
    table = styler.data
    assert list(table.columns) == [CORNER, "a", "b", "c"] and table[CORNER].tolist() == ["a", "b", "c"]
    assert table.loc[0, "a"] == "8 · 80%" and table.loc[2, "b"] == "5 · 50%" and table.loc[1, "c"] == "0 · 0%"
    html = styler.to_html()
    assert "rgb(56,89,137)" in html  # 80%: a dark blue, with white text
    assert html.count("color: white") == 2 and "rgb(247,251,255)" in html  # 0% cells stay white
