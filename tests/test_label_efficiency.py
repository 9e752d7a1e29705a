"""The label-efficiency curve: val metric against number of labels, heads on nested subsets, several seeds."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.data.splits import splits
from workbench.errors import WorkbenchError
from workbench.labeling.efficiency import _nested_order, dataset_efficiency, efficiency_curve, efficiency_figure


def test_subsets_are_nested_hold_every_class_and_the_curve_rises_with_labels():
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat(np.arange(3), 200))
    x = rng.normal(size=(600, 16)).astype(np.float32) + 0.6 * np.eye(16, dtype=np.float32)[y]  # overlapping classes
    order = _nested_order(y[:400], rng)
    assert sorted(order.tolist()) == list(range(400)) and set(y[order[:3]]) == {0, 1, 2}
    curve = efficiency_curve(x, y, np.arange(400), np.arange(400, 600), 3, seeds=3)
    assert sorted(curve["seed"].unique()) == [0, 1, 2] and curve["n_labels"].max() == 400
    mean = curve.groupby("n_labels")["balanced_accuracy"].mean()
    assert mean.index.min() == 6 and mean.iloc[-1] > mean.iloc[0] + 0.1
    fig = efficiency_figure(curve)
    assert len(fig.data) == 2 and list(fig.data[1].x) == list(mean.index)


def test_dataset_curve_on_faces(faces_labelled):
    curve = dataset_efficiency(faces_labelled, "faces", seeds=2)
    last = curve[curve["n_labels"] == curve["n_labels"].max()]
    assert len(last) == 2 and last["balanced_accuracy"].mean() > 0.8
    assert curve["n_labels"].max() == (splits(faces_labelled, "faces")["split"] == "train").sum()


def test_dataset_curve_needs_labels(faces):
    with pytest.raises(WorkbenchError, match="needs labels of at least two classes"):
        dataset_efficiency(faces, "faces")


def test_the_table_is_the_mean_over_seeds_per_number_of_labels():
    import pandas as pd

    from workbench.labeling.efficiency import mean_over_seeds

    curve = pd.DataFrame({"seed": [0, 1, 0, 1], "n_labels": [10, 10, 20, 20],
                          "balanced_accuracy": [0.5, 0.7, 0.8, 0.9], "accuracy": [0.6, 0.6, 0.85, 0.95]})
    got = mean_over_seeds(curve)
    assert got.to_dict("list") == {"n_labels": [10, 20], "balanced_accuracy": [0.6, 0.85], "accuracy": [0.6, 0.9]}
