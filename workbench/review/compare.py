"""Two runs on the same test images: which images each gets wrong, overall and per category."""

from __future__ import annotations

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.review.categories import ALL_IMAGES, check_predictions

OUTCOMES = ("both right", "only A wrong", "only B wrong", "both wrong")


def compare_runs(preds_a: pd.DataFrame, preds_b: pd.DataFrame) -> pd.DataFrame:
    """Per shared image: image_id, path, y_true, pred_a, pred_b, conf_a, conf_b, outcome (one of OUTCOMES)."""
    check_predictions(preds_a), check_predictions(preds_b)
    both = preds_a.merge(preds_b, on="image_id", suffixes=("_a", "_b"))
    if both.empty:
        raise WorkbenchError("The two runs share no test images: compare runs trained on the same dataset and seed.")
    if (both["y_true_a"] != both["y_true_b"]).any():
        n = int((both["y_true_a"] != both["y_true_b"]).sum())
        raise WorkbenchError(f"The runs disagree on the true class of {n} shared image(s): "
                             "their class lists or groupings differ, so their errors cannot be compared.")
    wrong_a = both["y_pred_a"] != both["y_true_a"]
    wrong_b = both["y_pred_b"] != both["y_true_b"]
    outcome = (wrong_a.astype(int) + 2 * wrong_b.astype(int)).map(dict(enumerate(OUTCOMES)))
    return pd.DataFrame({"image_id": both["image_id"], "path": both["path_a"], "y_true": both["y_true_a"],
                         "pred_a": both["y_pred_a"], "pred_b": both["y_pred_b"],
                         "conf_a": both["confidence_a"], "conf_b": both["confidence_b"], "outcome": outcome})


def compare_by_category(comparison: pd.DataFrame, cats: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts of each outcome, overall and per category, with each run's error rate."""
    rows = [(ALL_IMAGES, comparison)]
    if cats is not None and not cats.empty:
        for cat, ids in cats.groupby("category")["image_id"]:
            rows.append((cat, comparison[comparison["image_id"].isin(ids)]))
    out = []
    for cat, part in rows:
        counts = part["outcome"].value_counts()
        rec = {"category": cat, "images": len(part)}
        rec.update({o: int(counts.get(o, 0)) for o in OUTCOMES})
        n = max(len(part), 1)
        rec["error_rate_a"] = (rec["only A wrong"] + rec["both wrong"]) / n if len(part) else float("nan")
        rec["error_rate_b"] = (rec["only B wrong"] + rec["both wrong"]) / n if len(part) else float("nan")
        out.append(rec)
    return pd.DataFrame(out)
