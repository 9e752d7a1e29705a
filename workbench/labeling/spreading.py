"""Suggestions that use the unlabelled images too: labels spread over a k-nearest-neighbour graph of the
embeddings (scikit-learn's LabelSpreading, Zhou et al. 2004), combined with the linear head's probabilities.

The head sees only the labelled images; spreading follows the set's own structure (a class's images lie on one
stretch of the graph), which helps most while labels are few. The two are averaged: each covers the other's
failure (spreading across a bridge between two clusters, the head on a class shaped unlike a half-space).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.semi_supervised import LabelSpreading

NEIGHBOURS = 10   # the kNN graph's degree
ALPHA = 0.5       # how far a label may drift from its given class (0.2, scikit-learn's default, left 30% of
                  # three separated blobs unreached)
WEIGHT = 0.5      # share of spreading in the combined probabilities


def spread(x: np.ndarray, rows: np.ndarray, y: np.ndarray, n_classes: int, *,
           neighbours: int = NEIGHBOURS, alpha: float = ALPHA) -> np.ndarray:
    """(N, n_classes) class probabilities of every row of `x` spread from the labelled `rows` (classes `y`)."""
    target = np.full(len(x), -1, dtype=np.int64)
    target[rows] = y
    model = LabelSpreading(kernel="knn", n_neighbors=min(neighbours, len(x) - 1), alpha=alpha, max_iter=30)
    with warnings.catch_warnings():   # max_iter reached: 30 sweeps spread far enough for suggestions
        warnings.simplefilter("ignore")
        model.fit(x, target)
    probs = np.zeros((len(x), n_classes))
    probs[:, model.classes_[model.classes_ >= 0]] = model.label_distributions_
    probs = np.nan_to_num(probs)   # an image no label reached: all zeros, then uniform below
    total = probs.sum(1, keepdims=True)
    return np.where(total > 0, probs / np.maximum(total, 1e-12), 1.0 / n_classes)


def combine(head: np.ndarray, spread_probs: np.ndarray, weight: float = WEIGHT) -> np.ndarray:
    """The head's and the spreading's probabilities averaged (rows still sum to one)."""
    return (1.0 - weight) * head + weight * spread_probs
