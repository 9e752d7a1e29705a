"""Per-epoch metric curves, one panel per metric: several runs overlaid (val solid, train dotted), or
grouped by method (mean over seeds with a ±1 std band; baselines as flat dashed lines).

HTML is plotly's own; PNG is drawn with matplotlib from the same data because plotly's static export
needs kaleido plus a browser, which this project does not depend on.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure  # Figure, not pyplot: no global state or display, safe in worker threads
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from workbench.atomic import atomic_path
from workbench.metrics import CURVE_METRICS, curve_metrics, metric_title
from workbench.plots.legend import legend_below

COLORS = qualitative.Plotly


def curves_figure(histories: dict[str, pd.DataFrame], metrics: Sequence[str] | None = None,
                  splits: Sequence[str] = ("train", "val"), n_classes: int | Iterable[int] = 2) -> go.Figure:
    """Plotly figure: a panel per metric (default: the runs' own, see metrics_of), one colour per run, val solid
    with filled markers and train dotted with open ones. `n_classes`: the runs' class counts (one for all, or one
    per run), so multi-class EER and ROC AUC panels say they are one-vs-rest means."""
    metrics = metrics or metrics_of(histories)
    cols = 3
    rows = -(-len(metrics) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[metric_title(m, n_classes) for m in metrics],
                        horizontal_spacing=0.07, vertical_spacing=0.14)
    for i, (run, h) in enumerate(histories.items()):
        color = COLORS[i % len(COLORS)]
        for k, metric in enumerate(metrics):
            for split in splits:
                part = h[h.split == split].dropna(subset=[metric]) if metric in h else h.iloc[:0]
                if part.empty:
                    continue
                fig.add_trace(go.Scatter(
                    x=part.epoch, y=part[metric], mode="lines+markers", name=f"{run} ({split})",
                    legendgroup=run, showlegend=k == 0, line=dict(color=color, dash="solid" if split == "val" else "dot"),
                    # filled for val, open for train: a single epoch draws no line, only the markers tell them apart
                    marker=dict(symbol="circle" if split == "val" else "circle-open", size=7),
                    hovertemplate=f"{run}<br>{split} {metric}: %{{y:.4f}}<br>epoch %{{x}}<extra></extra>"),
                    row=k // cols + 1, col=k % cols + 1)
    fig.update_xaxes(title_text="epoch", dtick=1 if _max_epoch(histories) <= 20 else None)
    fig.update_layout(margin=dict(l=40, r=20, t=50), template="plotly_white")
    return legend_below(fig, 330 * rows)


def methods_figure(histories: dict[str, pd.DataFrame], per_run: pd.DataFrame,
                   metrics: Sequence[str] = CURVE_METRICS, n_classes: int | Iterable[int] = 2) -> go.Figure:
    """Val curves grouped by method: per metric, the mean over seeds per epoch with a ±1 std band; methods
    without epochs (baselines) as a dashed flat line at their mean. `per_run`: run, method, backbone, seed rows."""
    rows = -(-len(metrics) // 3)
    fig = make_subplots(rows=rows, cols=3, subplot_titles=[metric_title(m, n_classes) for m in metrics],
                        horizontal_spacing=0.07, vertical_spacing=0.14)
    long = _val_by_method(histories, per_run)
    for i, (label, g) in enumerate(_groups(per_run)):
        color = COLORS[i % len(COLORS)]
        curve = long[long.label == label]
        for k, metric in enumerate(metrics):
            where = dict(row=k // 3 + 1, col=k % 3 + 1)
            if len(curve):
                stats = curve.groupby("epoch")[metric].agg(["mean", "std", "count"]).reset_index().fillna(0.0)
                x, lo, hi = stats.epoch, stats["mean"] - stats["std"], stats["mean"] + stats["std"]
            else:  # a baseline: one value per seed, drawn flat across the epochs of the runs
                span = (long.epoch.min(), long.epoch.max()) if len(long) else (1, 1)
                vals = g[metric].astype(float)
                x = pd.Series(span)
                stats = pd.DataFrame({"mean": [vals.mean()] * 2, "count": [len(vals)] * 2})
                sd = vals.std(ddof=1) if len(vals) > 1 else 0.0
                lo, hi = stats["mean"] - sd, stats["mean"] + sd
            _band(fig, x, lo, hi, color, label, where)
            fig.add_trace(go.Scatter(
                x=x, y=stats["mean"], mode="lines+markers" if len(curve) else "lines", name=label,
                legendgroup=label, showlegend=k == 0, line=dict(color=color, dash="solid" if len(curve) else "dash"),
                customdata=stats["count"],
                hovertemplate=f"{label}<br>val {metric}: %{{y:.4f}} (mean of %{{customdata}})<br>epoch %{{x}}<extra></extra>"),
                **where)
    fig.update_xaxes(title_text="epoch", dtick=1 if _max_epoch(histories) <= 20 else None)
    fig.update_layout(margin=dict(l=40, r=20, t=50), template="plotly_white",
                      title=dict(text="Val metrics by method: mean over seeds, band ±1 std", font=dict(size=14)))
    return legend_below(fig, 330 * rows)


def _groups(per_run: pd.DataFrame):
    """(label, rows) per method, methods first; the backbone joins the label when there are several."""
    per_run = per_run.assign(label=_labels(per_run), is_baseline=per_run.method.str.startswith("baseline"))
    return [(label, g) for (_, label), g in per_run.groupby(["is_baseline", "label"], sort=True)]


def _labels(per_run: pd.DataFrame) -> pd.Series:
    several = per_run.loc[per_run.backbone.astype(bool), "backbone"].nunique() > 1
    return per_run.method + (" · " + per_run.backbone).where(several & per_run.backbone.astype(bool), "")


def _val_by_method(histories: dict[str, pd.DataFrame], per_run: pd.DataFrame) -> pd.DataFrame:
    """Val rows of every run with its method label (baselines have no history and no rows here)."""
    runs = per_run[per_run.epochs.notna()].assign(label=lambda d: _labels(d)).set_index("run").label
    parts = [h[h.split == "val"].assign(label=runs[r]) for r, h in histories.items() if r in runs.index]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["epoch", "label", *CURVE_METRICS])


def _band(fig: go.Figure, x, lo, hi, color: str, label: str, where: dict) -> None:
    """A translucent ±1 std band: upper edge, then lower edge filled up to it."""
    fill = "rgba({},{},{},0.18)".format(*(int(color[i:i + 2], 16) for i in (1, 3, 5)))
    fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line=dict(width=0), legendgroup=label, showlegend=False,
                             hoverinfo="skip"), **where)
    fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line=dict(width=0), fill="tonexty", fillcolor=fill,
                             legendgroup=label, showlegend=False, name=f"{label} ±1 std", hoverinfo="skip"), **where)


def save_curves(histories: dict[str, pd.DataFrame], plots: Path, name: str | None = None,
                n_classes: int | Iterable[int] = 2) -> dict[str, Path]:
    """Write curves.html and curves.png to <plots>/<name>/ (plots: the workspace's plots_checkpoints/;
    name: the run, or a comparison id; n_classes: as curves_figure)."""
    if not histories:
        raise ValueError("No runs to plot.")
    out = Path(plots) / (name or plot_name(list(histories)))
    html, png = out / "curves.html", out / "curves.png"
    metrics = metrics_of(histories)
    with atomic_path(html) as tmp:
        curves_figure(histories, metrics, n_classes=n_classes).write_html(tmp, include_plotlyjs=True, full_html=True)
    _matplotlib_png(histories, png, metrics, n_classes=n_classes)
    return {"html": html, "png": png}


def metrics_of(histories: dict[str, pd.DataFrame]) -> tuple[str, ...]:
    """The metrics the runs' histories record: classification's curves, or a detection run's loss and mAP."""
    return curve_metrics({c for h in histories.values() for c in h.columns})


def plot_name(runs: list[str]) -> str:
    """The run's own name, or 'compare-<first run>-<hash>' for several."""
    if len(runs) == 1:
        return runs[0]
    digest = hashlib.sha1("\n".join(sorted(runs)).encode()).hexdigest()[:8]
    return f"compare-{re.sub(r'[^A-Za-z0-9._-]', '_', sorted(runs)[0])[:40]}-{len(runs)}runs-{digest}"


def _matplotlib_png(histories: dict[str, pd.DataFrame], path: Path, metrics: Sequence[str] = CURVE_METRICS,
                    n_classes: int | Iterable[int] = 2) -> None:
    cols = 3
    rows = -(-len(metrics) // cols)
    fig = Figure(figsize=(5 * cols, 3.6 * rows), dpi=100)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, (run, h) in enumerate(histories.items()):
        color = COLORS[i % len(COLORS)]
        for ax, metric in zip(axes, metrics):
            for split, style in (("val", "-"), ("train", ":")):
                part = h[h.split == split].dropna(subset=[metric]) if metric in h else h.iloc[:0]
                if not part.empty:
                    ax.plot(part.epoch, part[metric], style, marker="o", ms=3, color=color,
                            label=f"{run} ({split})")
    for ax, metric in zip(axes, metrics):
        ax.set_title(metric_title(metric, n_classes))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    if len(metrics) < len(axes):
        axes[len(metrics)].legend(handles, labels, loc="center", fontsize=8, frameon=False)
    elif handles:  # every panel holds a metric (a detection run's three): the legend goes into the first
        axes[0].legend(handles, labels, fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)


def _max_epoch(histories: dict[str, pd.DataFrame]) -> int:
    return max((int(h.epoch.max()) for h in histories.values() if len(h)), default=0)
