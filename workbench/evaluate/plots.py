"""Plotly figures of a test evaluation: confusion matrix heatmap and ROC curve(s) with the EER point."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure  # Figure, not pyplot: no global state or display, safe in worker threads
from pandas.io.formats.style import Styler

from workbench.atomic import atomic_path
from workbench.plots.legend import legend_below

LEGEND_COLUMNS = 2
CORNER = "true ↓ · predicted →"  # the confusion table's first column: the row's true class


def confusion_figure(cm: np.ndarray, classes: Sequence[str], title: str = "Confusion matrix") -> go.Figure:
    """Counts with row-normalised colour, so a small class's errors are as visible as a large one's."""
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
    text = [[f"{cm[i, j]}<br>{share[i, j]:.0%}" for j in range(cm.shape[1])] for i in range(cm.shape[0])]
    fig = go.Figure(go.Heatmap(z=share, x=list(classes), y=list(classes), text=text, texttemplate="%{text}",
                               colorscale="Blues", zmin=0, zmax=1, colorbar={"title": "row share"},
                               hovertemplate="true %{y} → predicted %{x}<br>%{text}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed",
                      height=460)
    return fig


def confusion_table(cm: np.ndarray, classes: Sequence[str]) -> Styler:
    """The confusion matrix as a table (row i, column i+1 = true class i, predicted class j), cells
    "count · row share" coloured by row share like the figure, for a UI where a cell can be clicked."""
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
    names = [str(c) for c in classes]
    table = pd.DataFrame([[n, *(f"{cm[i, j]} · {share[i, j]:.0%}" for j in range(len(names)))]
                          for i, n in enumerate(names)], columns=[CORNER, *names])
    shade = pd.DataFrame([[""] + [_blue(share[i, j]) for j in range(len(names))] for i in range(len(names))],
                         columns=table.columns)
    return table.style.apply(lambda _: shade, axis=None)


def _blue(x: float) -> str:
    # plotly's "Blues" ends: white to dark blue, with white text on the dark half
    r, g, b = (round(247 + (8 - 247) * x), round(251 + (48 - 251) * x), round(255 + (107 - 255) * x))
    return f"background-color: rgb({r},{g},{b}); color: {'white' if x > 0.5 else 'black'}"


def roc_figure(curves: dict[str, dict], title: str = "ROC curve") -> go.Figure:
    """One line per curve {name: {fpr, tpr, auc, eer?}}; the EER is marked where FPR equals FNR."""
    fig = go.Figure()
    for name, c in curves.items():
        fig.add_trace(go.Scatter(x=c["fpr"], y=c["tpr"], mode="lines", name=f"{name} (AUC {c['auc']:.3f})"))
        if c.get("eer") is not None:
            fig.add_trace(go.Scatter(x=[c["eer"]], y=[1 - c["eer"]], mode="markers", marker={"size": 10},
                                     name=f"EER {c['eer']:.3f}" + (f" @ {c['eer_threshold']:.3f}"
                                                                   if c.get("eer_threshold") is not None else "")))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"},
                             name="chance", hoverinfo="skip"))
    fig.update_layout(title=title, xaxis_title="false positive rate", yaxis_title="true positive rate",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02], margin={"t": 50})
    # the legend sits in a bottom margin sized for its rows, below the axis title: never over the curves
    return legend_below(fig, 380, LEGEND_COLUMNS)


def save_figure(fig: go.Figure, stem: Path) -> list[str]:
    """Write stem.html: self-contained (plotly.js inlined), so it opens offline."""
    html = stem.with_suffix(".html")
    with atomic_path(html) as tmp:
        fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)
    return [str(html)]


def confusion_png(cm: np.ndarray, classes: Sequence[str], path: Path, title: str = "") -> str:
    """A static PNG of the confusion matrix with matplotlib (plotly's PNG export needs kaleido and a browser)."""
    cm = np.asarray(cm)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
    side = 2.5 + 0.6 * len(classes)
    fig = Figure(figsize=(side + 1, side))
    ax = fig.subplots()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{cm[i, j]}\n{share[i, j]:.0%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xticks(range(len(classes)), list(classes), rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), list(classes))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="row share")
    return _save(fig, path)


def roc_png(curves: dict[str, dict], path: Path, title: str = "") -> str:
    """A static PNG of the ROC curve(s) with the EER points, with matplotlib."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    for name, c in curves.items():
        ax.plot(c["fpr"], c["tpr"], label=f"{name} (AUC {c['auc']:.3f})")
        if c.get("eer") is not None:
            ax.plot([c["eer"]], [1 - c["eer"]], "o", label=f"EER {c['eer']:.3f}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)  # below the axes, off the curves
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")  # keeps a legend placed outside the axes
    return str(path)


def pr_figure(curves: dict[str, dict], title: str = "Precision-recall") -> go.Figure:
    """One precision-recall line per class {name: {recall, precision, ap?}} (detection: COCO's 101-point curve at
    IoU 0.5; the legend gives each class's AP)."""
    fig = go.Figure()
    for name, c in curves.items():
        ap = f" (AP {c['ap']:.3f})" if c.get("ap") is not None else ""
        fig.add_trace(go.Scatter(x=c["recall"], y=c["precision"], mode="lines", name=f"{name}{ap}",
                                 hovertemplate=f"{name}<br>recall %{{x:.2f}}<br>precision %{{y:.3f}}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="recall", yaxis_title="precision", xaxis_range=[0, 1],
                      yaxis_range=[0, 1.02], margin={"t": 50})
    return legend_below(fig, 380, LEGEND_COLUMNS)  # under the curves, as the ROC's


def pr_png(curves: dict[str, dict], path: Path, title: str = "") -> str:
    """A static PNG of the precision-recall curves, with matplotlib."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    for name, c in curves.items():
        ap = f" (AP {c['ap']:.3f})" if c.get("ap") is not None else ""
        ax.plot(c["recall"], c["precision"], label=f"{name}{ap}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return _save(fig, path)
