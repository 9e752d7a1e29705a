"""Per-epoch metric curves, one panel per metric, several runs overlaid (val solid, train dotted).

HTML is plotly's own; PNG is drawn with matplotlib from the same data because plotly's static export
needs kaleido plus a browser, which this project does not depend on.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from workbench import paths

CURVE_METRICS = ("loss", "accuracy", "f1", "roc_auc", "eer")
TITLES = {"loss": "Loss", "accuracy": "Accuracy", "f1": "Macro F1", "roc_auc": "ROC AUC", "eer": "EER"}
COLORS = qualitative.Plotly


def curves_figure(histories: dict[str, pd.DataFrame], metrics=CURVE_METRICS, splits=("train", "val")) -> go.Figure:
    """Plotly figure: a panel per metric, one colour per run, val solid and train dotted."""
    cols = 3
    rows = -(-len(metrics) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[TITLES.get(m, m) for m in metrics],
                        horizontal_spacing=0.07, vertical_spacing=0.14)
    for i, (run, h) in enumerate(histories.items()):
        color = COLORS[i % len(COLORS)]
        for k, metric in enumerate(metrics):
            for split in splits:
                part = h[h.split == split]
                if part.empty:
                    continue
                fig.add_trace(go.Scatter(
                    x=part.epoch, y=part[metric], mode="lines+markers", name=f"{run} ({split})",
                    legendgroup=run, showlegend=k == 0, line=dict(color=color, dash="solid" if split == "val" else "dot"),
                    hovertemplate=f"{run}<br>{split} {metric}: %{{y:.4f}}<br>epoch %{{x}}<extra></extra>"),
                    row=k // cols + 1, col=k % cols + 1)
    fig.update_xaxes(title_text="epoch", dtick=1 if _max_epoch(histories) <= 20 else None)
    fig.update_layout(height=330 * rows, margin=dict(l=40, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.12),
                      template="plotly_white")
    return fig


def save_curves(histories: dict[str, pd.DataFrame], name: str | None = None) -> dict[str, Path]:
    """Write curves.html and curves.png to plots_checkpoints/<name>/ (name: the run, or a comparison id)."""
    if not histories:
        raise ValueError("No runs to plot.")
    name = name or plot_name(list(histories))
    out = paths.plots_dir() / name
    out.mkdir(parents=True, exist_ok=True)
    html, png = out / "curves.html", out / "curves.png"
    curves_figure(histories).write_html(html, include_plotlyjs=True, full_html=True)
    _matplotlib_png(histories, png)
    return {"html": html, "png": png}


def plot_name(runs: list[str]) -> str:
    """The run's own name, or 'compare-<first run>-<hash>' for several."""
    if len(runs) == 1:
        return runs[0]
    digest = hashlib.sha1("\n".join(sorted(runs)).encode()).hexdigest()[:8]
    return f"compare-{re.sub(r'[^A-Za-z0-9._-]', '_', sorted(runs)[0])[:40]}-{len(runs)}runs-{digest}"


def _matplotlib_png(histories: dict[str, pd.DataFrame], path: Path, metrics=CURVE_METRICS) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # Figure, not pyplot: no global state, safe in worker threads

    cols = 3
    rows = -(-len(metrics) // cols)
    fig = Figure(figsize=(5 * cols, 3.6 * rows), dpi=100)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, (run, h) in enumerate(histories.items()):
        color = COLORS[i % len(COLORS)]
        for ax, metric in zip(axes, metrics):
            for split, style in (("val", "-"), ("train", ":")):
                part = h[h.split == split]
                if not part.empty:
                    ax.plot(part.epoch, part[metric], style, marker="o", ms=3, color=color,
                            label=f"{run} ({split})")
    for ax, metric in zip(axes, metrics):
        ax.set_title(TITLES.get(metric, metric))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    if len(metrics) < len(axes):
        axes[len(metrics)].legend(handles, labels, loc="center", fontsize=8, frameon=False)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    tmp.replace(path)


def _max_epoch(histories: dict[str, pd.DataFrame]) -> int:
    return max((int(h.epoch.max()) for h in histories.values() if len(h)), default=0)
