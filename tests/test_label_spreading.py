"""Suggestions that use the unlabelled images: labels spread over the embeddings' kNN graph, averaged with the
linear head (labeling.spreading), switched on per suggester and per simulated strategy."""

from __future__ import annotations

import numpy as np

from workbench.labeling.simulate import STRATEGIES, Clock, PacedSuggester
from workbench.labeling.spreading import combine, spread
from workbench.labeling.suggest import fit_predict


def _three_blobs(seed: int = 0):
    """Class 1 is the middle one of three blobs in a row: no straight line separates it from the outer two."""
    rng = np.random.default_rng(seed)
    blob = np.repeat(np.arange(3), 200)
    x = (np.array([[-3, 0], [3, 0], [0, 0]])[blob] + rng.normal(scale=0.5, size=(600, 2))).astype(np.float32)
    rows = np.concatenate([rng.choice(np.flatnonzero(blob == b), 2, replace=False) for b in range(3)])
    return x, (blob == 2).astype(np.int64), rows


def test_spreading_follows_the_sets_shape_where_the_head_cannot():
    x, y, rows = _three_blobs()
    head, _ = fit_predict(x, rows, y[rows], 2)
    spread_ = spread(x, rows, y[rows], 2)
    both, _ = fit_predict(x, rows, y[rows], 2, spreading=True)
    assert (head.argmax(1) == y).mean() < 0.7          # a half-space cannot hold the middle blob
    assert (spread_.argmax(1) == y).mean() > 0.97       # 6 labels reach all 600 images over the graph
    assert (both.argmax(1) == y).mean() > 0.95
    assert np.allclose(both, combine(head, spread_)) and np.allclose(both.sum(1), 1.0)


def test_an_image_no_label_reaches_gets_uniform_odds_not_nan():
    x = np.concatenate([np.zeros((12, 2)), np.full((12, 2), 50.0)]).astype(np.float32)   # two far islands
    x += np.random.default_rng(1).normal(scale=0.1, size=x.shape).astype(np.float32)
    p = spread(x, np.array([0, 1]), np.array([0, 1]), 2, neighbours=5)
    assert np.isfinite(p).all() and np.allclose(p.sum(1), 1.0) and np.allclose(p[12:], 0.5)


def test_the_spreading_strategy_gives_its_suggester_spreading(faces):
    assert STRATEGIES["spreading"].spreading and not STRATEGIES["verify-pages"].spreading
    sugg = PacedSuggester(faces, "faces", "sim", Clock(), spreading=True)
    assert sugg.spreading
