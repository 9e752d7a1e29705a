"""Plotly figures of a test evaluation: confusion matrix heatmap and ROC curve(s) with the EER point."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import plotly.graph_objects as go


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
                      width=520, height=480)
    return fig


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
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02], width=560, height=480)
    return fig


def save_figure(fig: go.Figure, stem: Path) -> list[str]:
    """Write stem.html (self-contained, works offline) and stem.png when a static renderer is installed."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = [str(stem.with_suffix(".html"))]
    fig.write_html(out[0], include_plotlyjs=True, full_html=True)
    try:  # PNG export needs kaleido (and a browser); skip it quietly where that is missing
        fig.write_image(str(stem.with_suffix(".png")))
        out.append(str(stem.with_suffix(".png")))
    except Exception:
        pass
    return out
