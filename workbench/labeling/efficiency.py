"""How many labels do I need? Validation metric against number of labels, from heads trained on nested subsets.

The labelled images' train split is shuffled once per seed; heads (the suggestion head, on the cached backbone
features) are trained on growing prefixes of that order (nested subsets, each holding every class) and scored
on the val split. A flat end of the curve says more labels of the same kind will not help much.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from workbench.data.splits import splits
from workbench.errors import WorkbenchError
from workbench.labeling.features import Progress, dataset_features, no_progress
from workbench.labeling.suggest import fit_head, predict
from workbench.store import Store

POINTS = 8


def efficiency_curve(x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray, n_classes: int,
                     seeds: int = 3, points: int = POINTS) -> pd.DataFrame:
    """One row per (seed, number of labels): n_labels, seed, balanced_accuracy, accuracy on `val`."""
    train, val = np.asarray(train), np.asarray(val)
    first = max(n_classes, min(2 * n_classes, len(train)))
    sizes = np.unique(np.geomspace(first, len(train), points).round().astype(int))
    rows = []
    for seed in range(seeds):
        order = _nested_order(y[train], np.random.default_rng(seed))
        for n in sizes:
            part = train[order[:n]]
            p = predict(fit_head(x[part], y[part], n_classes, seed), x[val]).argmax(1)
            rows.append({"n_labels": int(n), "seed": seed, "balanced_accuracy": balanced_accuracy_score(y[val], p),
                         "accuracy": accuracy_score(y[val], p)})
    return pd.DataFrame(rows)


def _nested_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A shuffled order of positions whose first entries hold one image of each class present."""
    order = rng.permutation(len(y))
    _, first = np.unique(y[order], return_index=True)
    head = order[np.sort(first)]
    return np.concatenate([head, order[~np.isin(order, head)]])


def dataset_efficiency(store: Store, dataset: str, seeds: int = 3, split_seed: int = 0,
                       progress: Progress = no_progress) -> pd.DataFrame:
    """The curve for a dataset's resolved labels (train split: subsets; val split: scoring)."""
    classes = store.classes(dataset)
    labelled = splits(store, dataset, split_seed)
    train, val = labelled[labelled["split"] == "train"], labelled[labelled["split"] == "val"]
    if len(classes) < 2 or train.empty or val.empty or train["label"].nunique() < 2:
        raise WorkbenchError(f"{dataset!r} needs labels of at least two classes in both train and val splits "
                             f"(has {len(train)} train, {len(val)} val labelled images).")
    feats = dataset_features(store, dataset, progress)
    y = np.full(len(feats.image_ids), -1)
    ids = labelled["image_id"].to_numpy()
    y[feats.rows(ids)] = labelled["label"].map({c: k for k, c in enumerate(classes)}).to_numpy()
    progress(1.0, "training heads")
    return efficiency_curve(feats.x, y, feats.rows(train["image_id"]), feats.rows(val["image_id"]), len(classes),
                            seeds)


def mean_over_seeds(curve: pd.DataFrame) -> pd.DataFrame:
    """Balanced and plain accuracy per number of labels, averaged over the curve's seeds (3 decimals)."""
    return curve.groupby("n_labels")[["balanced_accuracy", "accuracy"]].mean().round(3).reset_index()


def efficiency_figure(curve: pd.DataFrame, metric: str = "balanced_accuracy") -> go.Figure:
    """Mean over seeds with a ±1 std band, log-scaled label axis."""
    g = curve.groupby("n_labels")[metric].agg(["mean", "std"]).fillna(0.0).reset_index()
    fig = go.Figure([
        go.Scatter(x=list(g.n_labels) + list(g.n_labels[::-1]), y=list(g["mean"] + g["std"]) +
                   list((g["mean"] - g["std"])[::-1]), fill="toself", line={"width": 0}, opacity=0.2,
                   name="±1 std", hoverinfo="skip"),
        go.Scatter(x=g.n_labels, y=g["mean"], mode="lines+markers", name=f"mean of {curve.seed.nunique()} seeds")])
    fig.update_layout(xaxis={"title": "labelled training images", "type": "log"},
                      yaxis={"title": f"val {metric.replace('_', ' ')}", "range": [0, 1.02]},
                      title="How many labels do I need?", margin={"t": 40})
    return fig
