"""Multi-class evaluation on a real trained run: ten classes of real digits (40 each), offline EfficientNet-Lite0 features
(at 64 px: at 32 px the 8×8 digits give Lite0 a 1×1 last stage and near-zero features, and the head stays at chance)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

from workbench.evaluate.evaluate import evaluate_run, probs_of
from workbench.review import categories, category_table, errors_in
from workbench.train.config import RunConfig
from workbench.train.loop import train

from test_metrics import _eer_by_scan

pytestmark = pytest.mark.slow


def _eer(positive, score):
    return _eer_by_scan(positive, score)  # at every threshold, interpolated where FPR crosses FNR


def test_ten_class_run_scores_like_sklearn_and_reviews_by_confusion_cell(ws, digits_sample):
    res = train(ws, RunConfig(digits_sample, method="feature_extract", input_size=64, epochs=8, lr=0.01, batch_size=128,
                          name="digits-fe"))
    assert res.status == "completed", res.message
    ev = evaluate_run(ws.run("digits-fe"))
    preds = ws.run("digits-fe").predictions()
    probs, y = probs_of(preds), preds.y_true.to_numpy()
    pred = probs.argmax(1)
    assert ev.classes == [str(d) for d in range(10)] and probs.shape == (len(preds), 10)
    assert ev.metrics["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert ev.metrics["accuracy"] > 0.6  # ten classes: chance is 0.1
    p, r, f1, _ = precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    assert (ev.metrics["precision"], ev.metrics["recall"], ev.metrics["f1"]) == pytest.approx((p, r, f1))
    assert ev.metrics["roc_auc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"))
    assert ev.metrics["eer"] == pytest.approx(np.mean([_eer(y == k, probs[:, k]) for k in range(10)]))
    assert ev.confusion == confusion_matrix(y, pred, labels=list(range(10))).tolist()
    assert sorted(ev.roc) == sorted(ev.classes)  # one one-vs-rest ROC per class
    for k, c in enumerate(ev.classes):
        assert ev.roc[c]["auc"] == pytest.approx(roc_auc_score(y == k, probs[:, k]))

    cells = categories("confusion", preds, ev.classes)
    table = category_table(preds, cells).set_index("category")
    assert table.loc["all images", "errors"] == int((y != pred).sum())
    worst = next(c for c in table.index if c != "all images" and table.loc[c, "errors"] > 0)
    t, q = worst.split(" → ")
    in_cell = errors_in(preds, cells, worst)
    assert len(in_cell) == ev.confusion[int(t)][int(q)] and t != q
    assert (in_cell.y_true == int(t)).all() and (in_cell.y_pred == int(q)).all()

    # no decision threshold on ten classes (argmax decides): the Evaluate tab's operating-point panel stays hidden
    from workbench.evaluate.operating_point import has_threshold
    from workbench.ui.operating_point import show_operating_point

    assert not has_threshold(ws.run("digits-fe"))
    panel, text, _ = show_operating_point(ws, "digits-fe")
    assert panel.visible is False and text == ""
