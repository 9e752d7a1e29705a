"""Every metric agrees with scikit-learn computed independently on the same predictions."""

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score, roc_curve

from workbench.metrics import classification_metrics, eer


def _probs(rng, n, c, y, signal=1.5):
    logits = rng.normal(size=(n, c))
    logits[np.arange(n), y] += signal
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def _eer_by_scan(y, s):
    """EER by brute force, the independent reference: FPR and FNR counted at every threshold (each distinct score,
    from calling nothing positive to calling everything positive), linear between the two thresholds around the
    crossing of FPR and FNR."""
    y, s = np.asarray(y).astype(bool), np.asarray(s, dtype=float)
    points = [(np.mean(s[~y] >= t), np.mean(s[y] < t)) for t in [np.inf, *sorted(set(s), reverse=True)]]
    for (fpr0, fnr0), (fpr1, fnr1) in zip(points, points[1:]):
        if fnr1 - fpr1 <= 0:
            w = (fnr0 - fpr0) / ((fnr0 - fpr0) - (fnr1 - fpr1))
            return fpr0 + w * (fpr1 - fpr0)
    raise AssertionError("FPR and FNR never cross")


def test_binary_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = _probs(rng, 300, 2, y)
    m = classification_metrics(y, p)
    pred = p.argmax(1)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred, average="macro"))
    assert m["recall"] == pytest.approx(recall_score(y, pred, average="macro"))
    assert m["f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p[:, 1]))
    assert m["loss"] == pytest.approx(log_loss(y, p), rel=1e-6)
    assert m["eer"] == pytest.approx(_eer_by_scan(y, p[:, 1]), abs=1e-12)
    assert 0.0 < m["eer"] < 0.5
    # the threshold separates about as well as the EER says
    t = m["eer_threshold"]
    far, frr = np.mean(p[y == 0, 1] >= t), np.mean(p[y == 1, 1] < t)
    assert abs(far - frr) < 0.02


def test_multiclass_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 400)
    p = _probs(rng, 400, 5, y)
    m = classification_metrics(y, p, classes=list("abcde"))
    pred = p.argmax(1)
    assert m["f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    assert m["loss"] == pytest.approx(log_loss(y, p), rel=1e-6)
    want = np.mean([_eer_by_scan((y == c).astype(int), p[:, c]) for c in range(5)])
    assert m["eer"] == pytest.approx(want, abs=1e-12)
    assert m["eer_threshold"] is None


def test_eer_is_exact_at_every_threshold_where_the_thinned_roc_was_optimistic():
    rng = np.random.default_rng(7)
    thinned_differs = 0
    for _ in range(200):
        n = int(rng.integers(6, 60))
        y = np.r_[0, 1, rng.integers(0, 2, n - 2)]
        s = np.round(rng.normal(size=n) + y, int(rng.integers(1, 3)))  # rounded: tied scores too
        exact = _eer_by_scan(y, s)
        assert eer(y, s)[0] == pytest.approx(exact, abs=1e-12)
        fpr, tpr, _ = roc_curve(y, s)  # sklearn's default: intermediate points dropped, nearest point, no interpolation
        i = np.argmin(np.abs(1 - tpr - fpr))
        thinned_differs += abs((fpr[i] + 1 - tpr[i]) / 2 - exact) > 1e-9
    assert thinned_differs > 20  # what the old computation got wrong


def test_eer_threshold_is_a_score_whose_rates_bracket_the_eer():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y
    rate, t = eer(y, s)
    assert t in s
    far, frr = np.mean(s[y == 0] >= t), np.mean(s[y == 1] < t)
    assert min(far, frr) <= rate <= max(far, frr) and abs(far - frr) < 0.02


def test_per_row_versions_used_by_the_bootstrap_equal_the_single_ones():
    from sklearn.metrics import f1_score

    from workbench.metrics import auc_rows, eer_rows, f1_rows, ranking_metrics, ranking_rows

    rng = np.random.default_rng(5)
    for c in (2, 4):
        y = rng.integers(0, c, (6, 80))
        p = np.round(np.stack([_probs(rng, 80, c, row) for row in y]), 2)  # ties
        auc, rate = ranking_rows(y, p)
        for r in range(6):
            assert (auc[r], rate[r]) == pytest.approx(ranking_metrics(y[r], p[r])[:2], abs=1e-12)
            assert f1_rows(y[r:r + 1], p[r:r + 1].argmax(-1), c)[0] == pytest.approx(
                f1_score(y[r], p[r].argmax(-1), labels=list(range(c)), average="macro", zero_division=0))
        pos = y == 1
        assert auc_rows(pos, p[..., 1]) == pytest.approx([roc_auc_score(a, b) for a, b in zip(pos, p[..., 1])])
        assert eer_rows(pos, p[..., 1])[0] == pytest.approx([_eer_by_scan(a, b) for a, b in zip(pos, p[..., 1])])
    one_class = np.zeros((1, 5), dtype=bool)
    assert np.isnan(auc_rows(one_class, np.arange(5.0)[None])[0]) and np.isnan(eer_rows(one_class, np.ones((1, 5)))[0][0])


def test_multiclass_ranking_metrics_are_labelled_as_one_vs_rest_means():
    from workbench.metrics import metric_label, metric_title

    assert metric_label("eer", 2) == "EER" and metric_label("eer", 10) == "mean one-vs-rest EER"
    assert metric_label("roc_auc", 3) == "mean one-vs-rest ROC AUC" and metric_label("f1", 10) == "F1 (macro)"
    assert metric_title("eer", [10, 10]) == "Mean one-vs-rest EER" and metric_title("eer", [2]) == "EER"
    assert metric_title("eer", [2, 10]) == "EER (mean one-vs-rest if > 2 classes)"


def test_eer_perfect_and_inverted_scores():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert eer(y, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])[0] == 0.0
    assert eer(y, [0.9, 0.8, 0.7, 0.3, 0.2, 0.1])[0] == 1.0
    fpr, tpr, _ = roc_curve(y, [0.1, 0.6, 0.3, 0.7, 0.2, 0.9])
    assert 0 < eer(y, [0.1, 0.6, 0.3, 0.7, 0.2, 0.9])[0] < 1


def test_single_class_present_gives_nan_not_crash():
    y = np.zeros(10, dtype=int)
    p = np.tile([0.8, 0.2], (10, 1))
    m = classification_metrics(y, p)
    assert m["accuracy"] == 1.0
    assert math.isnan(m["roc_auc"]) and math.isnan(m["eer"])


@pytest.mark.parametrize("y,p,msg", [
    ([0, 1], [[0.5, 0.5]], "2 labels but 1 rows"),
    ([0, 3], [[0.5, 0.5], [0.5, 0.5]], "outside 0..1"),
    ([0, 1], [[np.nan, 0.5], [0.5, 0.5]], "NaN"),
    ([], np.zeros((0, 2)), "No samples"),
    ([0, 1], [0.5, 0.5], r"\(N, C\)"),
])
def test_bad_input_is_named(y, p, msg):
    with pytest.raises(ValueError, match=msg):
        classification_metrics(np.asarray(y), p)


def test_eer_rejects_non_binary_labels():
    with pytest.raises(ValueError, match="binary"):
        eer([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="both classes"):
        eer([1, 1], [0.1, 0.2])


def test_one_registry_names_every_metric_the_core_computes():
    from workbench.metrics import CURVE_METRICS, DECISION_METRICS, METRICS, REGISTRY, REPORT_METRICS, decision_metrics

    y, p = np.array([0, 1, 1, 0]), np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    assert set(classification_metrics(y, p)) == set(REPORT_METRICS)  # every computed number is reported
    assert set(DECISION_METRICS) <= set(decision_metrics(y, p.argmax(1)))
    assert METRICS == ("loss", "accuracy", "precision", "recall", "f1", "roc_auc", "eer")  # history.csv columns
    assert CURVE_METRICS == ("loss", "accuracy", "f1", "roc_auc", "eer") and set(CURVE_METRICS) <= set(METRICS)
    assert REPORT_METRICS[0] == "n" and REPORT_METRICS[-1] == "loss"
    assert REGISTRY["eer"].higher_is_better is False and REGISTRY["f1"].title == "Macro F1"


def test_metrics_format_as_reports_print_them():
    from workbench.metrics import format_metric

    assert format_metric("accuracy", 0.91234) == "0.9123" and format_metric("n", 30) == "30"
    assert format_metric("eer_threshold", None) == "n/a" and format_metric("roc_auc", math.nan) == "n/a"
    assert format_metric("something new", 0.5) == "0.5000"  # an unregistered key still prints
