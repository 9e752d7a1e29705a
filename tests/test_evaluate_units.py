"""Evaluation pieces without a trained run: ROC curves per class, dataset-change detection, figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from workbench.evaluate.dataset_check import DatasetChanged, check_unchanged
from workbench.evaluate.evaluate import roc_curves
from workbench.evaluate.plots import confusion_figure, roc_figure
from workbench.metrics import eer


def test_multiclass_roc_is_one_vs_rest_per_class_present():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    probs = rng.dirichlet([1, 1, 1, 1], len(y))
    probs[np.arange(len(y)), y] += 1.0
    probs /= probs.sum(1, keepdims=True)
    curves = roc_curves(y, probs, ["a", "b", "c", "never"])
    assert list(curves) == ["a", "b", "c"]  # no positives for "never": no curve rather than an error
    for k, name in enumerate("abc"):
        assert curves[name]["auc"] == pytest.approx(roc_auc_score(y == k, probs[:, k]))
        assert curves[name]["eer"] == pytest.approx(eer(y == k, probs[:, k])[0])
        assert curves[name]["eer_threshold"] is None


def test_binary_roc_has_the_eer_threshold_of_the_positive_class():
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    p1 = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.3, 0.6, 0.9])
    curves = roc_curves(y, np.c_[1 - p1, p1], ["closed", "open"])
    assert list(curves) == ["open"]
    assert (curves["open"]["eer"], curves["open"]["eer_threshold"]) == pytest.approx(eer(y, p1))
    fig = roc_figure(curves)
    assert any("EER" in (t.name or "") for t in fig.data)


def test_confusion_figure_shows_counts_and_row_shares():
    fig = confusion_figure(np.array([[8, 2], [0, 5]]), ["a", "b"])
    text = fig.data[0].text
    assert text[0][1] == "2<br>20%" and text[1][1] == "5<br>100%"


def _images(ids, split="test", sha="x"):
    return pd.DataFrame({"image_id": ids, "sha256": [f"{sha}{i}" for i in ids], "split": split})


def test_replaced_image_files_are_reported():
    then = _images([1, 2, 3])
    now = _images([1, 2, 3]).assign(sha256=["x1", "changed", "x3"])
    with pytest.raises(DatasetChanged, match="1 test image file\\(s\\) were replaced"):
        check_unchanged("r", ["a", "b"], then, ["a", "b"], now)


def test_class_order_change_is_reported_and_new_test_images_only_noted():
    then = _images([1, 2])
    with pytest.raises(DatasetChanged, match="class order changed"):
        check_unchanged("r", ["a", "b"], then, ["b", "a"], then)
    now = pd.concat([then, _images([7])])
    notes = check_unchanged("r", ["a", "b"], then, ["a", "b"], now)
    assert notes and "1 test image(s) labelled after training are left out" in notes[0]


def test_images_moved_into_test_since_training_are_noted_as_moved_not_as_new():
    then = pd.concat([_images([1, 2]), _images([3, 4], split="train")])
    now = pd.concat([_images([1, 2, 3]), _images([4], split="train"), _images([9])])  # 3 moved to test, 9 is new
    notes = check_unchanged("r", ["a", "b"], then, ["a", "b"], now)
    assert "1 test image(s) labelled after training are left out" in notes[0]
    assert "1 image(s) the run trained or validated on are in the test split now" in notes[1]
