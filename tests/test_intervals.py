"""Single-run intervals and McNemar's test (workbench.evaluate.intervals) against scipy on fixed numbers: a Wilson
interval for accuracy, seeded percentile bootstraps over test images for macro F1, ROC AUC and EER, and McNemar's
exact test on two runs' shared test images (refused when their test images differ)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import f1_score, roc_auc_score

from workbench.errors import WorkbenchError
from workbench.evaluate.intervals import mcnemar, mcnemar_runs, metric_intervals, wilson
from workbench.evaluate.records import Evaluation
from workbench.evaluate.report import evaluation_text, metrics_table, status_markdown

from test_metrics import _eer_by_scan


def test_wilson_interval_is_the_textbook_formula_and_scipys():
    z = stats.norm.ppf(0.975)
    k, n = 45, 50
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    ci = wilson(k, n)
    assert (ci.low, ci.high) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert (ci.low, ci.high) == pytest.approx((0.7864, 0.9565), abs=1e-4)  # 45 of 50 right
    assert wilson(50, 50).high == 1.0 and wilson(50, 50).low == pytest.approx(0.9287, abs=1e-4)
    with pytest.raises(ValueError, match="0 <= correct <= n"):
        wilson(3, 2)


def _predictions(seed=0, n=120, c=2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c))
    logits[np.arange(n), y] += 1.2
    return y, np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


@pytest.mark.parametrize("c", [2, 3])
def test_bootstrap_intervals_are_scipys_over_resampled_images_with_the_metrics_sklearn_computes(c):
    y, p = _predictions(c=c)
    got = metric_intervals(y, p, resamples=200, seed=4)
    pred = p.argmax(1)

    def scipy_ci(metric):
        res = stats.bootstrap((np.arange(len(y)),), lambda i: metric(y[i], p[i]), vectorized=False, n_resamples=200,
                              method="percentile", random_state=np.random.default_rng(4))
        return res.confidence_interval.low, res.confidence_interval.high

    def auc(yy, pp):
        return roc_auc_score(yy, pp[:, 1]) if c == 2 else np.mean([roc_auc_score(yy == k, pp[:, k]) for k in range(c)])

    def eer(yy, pp):
        return _eer_by_scan(yy, pp[:, 1]) if c == 2 else np.mean([_eer_by_scan(yy == k, pp[:, k]) for k in range(c)])

    assert (got["f1"].low, got["f1"].high) == pytest.approx(scipy_ci(
        lambda yy, pp: f1_score(yy, pp.argmax(1), labels=list(range(c)), average="macro", zero_division=0)))
    assert (got["roc_auc"].low, got["roc_auc"].high) == pytest.approx(scipy_ci(auc))
    assert (got["eer"].low, got["eer"].high) == pytest.approx(scipy_ci(eer))
    assert got["accuracy"] == wilson(int((pred == y).sum()), len(y))
    assert got["eer"].method == "bootstrap over 120 test images (200 resamples)"
    for key, value in (("f1", f1_score(y, pred, average="macro")), ("roc_auc", auc(y, p)), ("eer", eer(y, p))):
        assert got[key].low < value < got[key].high  # a percentile interval holds the full-sample value here
    assert metric_intervals(y, p, resamples=200, seed=4) == got  # seeded: an evaluation repeats exactly


def test_a_metric_undefined_on_the_test_images_gets_no_interval():
    y = np.zeros(20, dtype=int)
    p = np.tile([0.7, 0.3], (20, 1))
    got = metric_intervals(y, p, resamples=100)
    assert set(got) == {"accuracy", "f1"} and got["accuracy"].high == 1.0


def test_mcnemar_is_the_exact_binomial_test_on_the_discordant_images():
    right_a = np.array([1] * 12 + [0] * 3 + [1] * 80 + [0] * 5, dtype=bool)
    right_b = np.array([0] * 12 + [1] * 3 + [1] * 80 + [0] * 5, dtype=bool)
    t = mcnemar(right_a, right_b)
    assert (t.n, t.only_a, t.only_b) == (100, 12, 3)
    assert t.p_value == pytest.approx(1152 / 32768) == pytest.approx(stats.binomtest(12, 15).pvalue)  # 2·P(X ≥ 12)
    assert "only A right on 12, only B right on 3; p = 0.0352: a difference in accuracy unlikely to be chance" \
        in t.describe()
    same = mcnemar(right_a, right_a)
    assert same.p_value == 1.0 and "exactly the same images right" in same.describe()
    close = mcnemar(np.array([1, 1, 1, 1, 0, 0, 1], bool), np.array([0, 0, 0, 0, 1, 1, 1], bool))
    assert close.p_value == pytest.approx(0.6875) and "p = 0.688: no evidence of a difference" in close.describe()


def _table(ids, y, pred):
    return pd.DataFrame({"image_id": ids, "y_true": y, "y_pred": pred})


def test_mcnemar_of_two_runs_pairs_images_by_id_and_refuses_other_test_images():
    a = _table([1, 2, 3, 4], [0, 1, 1, 0], [0, 1, 0, 0])
    b = _table([4, 3, 2, 1], [0, 1, 1, 0], [1, 1, 1, 0])  # another order: paired by image id
    t = mcnemar_runs(a, b)
    assert (t.n, t.only_a, t.only_b) == (4, 1, 1)
    with pytest.raises(WorkbenchError, match="same test images: run A has 4, run B 3, 3 shared"):
        mcnemar_runs(a, b[b.image_id != 1])
    with pytest.raises(WorkbenchError, match="same true classes"):
        mcnemar_runs(a, b.assign(y_true=1))


def test_reports_show_the_intervals_and_say_how_they_were_made():
    y, p = _predictions(c=3)
    intervals = {k: v.to_dict() for k, v in metric_intervals(y, p, resamples=100).items()}
    metrics = {"n": 120, "accuracy": 0.6, "f1": 0.59, "roc_auc": 0.8, "eer": 0.25}
    table = metrics_table(metrics, 3, intervals)
    assert table.columns.tolist() == ["metric", "value", "95% interval"]
    rows = dict(zip(table.metric, table["95% interval"]))
    assert rows["accuracy"] == f"{intervals['accuracy']['low']:.4f}–{intervals['accuracy']['high']:.4f}"
    assert rows["images"] == "" and rows["mean one-vs-rest EER"] != "" and "mean one-vs-rest ROC AUC" in rows
    ev = Evaluation(run="r", split="test", checkpoint="best", classes=["a", "b", "c"], n=120, metrics=metrics,
                    confusion=[[1, 0, 0], [0, 1, 0], [0, 0, 1]], roc={}, intervals=intervals)
    text = evaluation_text(ev)
    assert f"  accuracy       0.6000  95% CI {rows['accuracy']}" in text
    assert "  eer            0.2500  95% CI" in text and "(mean one-vs-rest EER)" in text
    assert ("95% intervals: Accuracy by Wilson score; Macro F1, ROC AUC, EER by bootstrap over 120 test images "
            "(100 resamples).") in text and "95% intervals: Accuracy by Wilson score" in status_markdown(ev)
