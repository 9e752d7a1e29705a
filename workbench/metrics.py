"""Classification metrics: pure functions, arrays in, numbers out; scikit-learn does the computing.

Shared by training (per-epoch curves) and evaluation (test metrics). Inputs are validated here, at the
edge, so callers get one clear message instead of a deep sklearn traceback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from workbench.lazy import lazy_import

# scikit-learn is imported when a metric is first computed: the registry below is read by pages and commands that
# compute nothing (run tables, reports), and sklearn takes a second to import
skm = lazy_import("sklearn.metrics")


@dataclass(frozen=True)
class Metric:
    """One reported number: its key in metric dicts and history.csv, how it is shown, and where it appears."""

    key: str
    label: str  # rows of reports and tables: "F1 (macro)"
    title: str  # plot panels: "Macro F1"
    higher_is_better: bool | None  # None: not a score (a count, a threshold)
    report: bool = False  # a row of an evaluation report (`classification_metrics`)
    epoch: bool = False  # recorded for every epoch of training (history.csv)
    curve: bool = False  # drawn as a training curve and compared across runs
    decision: bool = False  # a metric of hard decisions at an operating point (`decision_metrics`)
    detection: bool = False  # recorded for every epoch of a detection run and drawn as its curve
    fmt: str = ".4f"

    def format(self, value: float | int | None) -> str:
        """The value as reports print it; 'n/a' for a missing or undefined (NaN) one."""
        if value is None or value != value:
            return "n/a"
        return format(int(value) if self.fmt == "d" else float(value), self.fmt)


# The one list of metrics, in the order reports read: the size first, scores next, the log loss last.
REGISTRY: dict[str, Metric] = {m.key: m for m in (
    Metric("n", "images", "Images", None, report=True, fmt="d"),
    Metric("accuracy", "accuracy", "Accuracy", True, report=True, epoch=True, curve=True, decision=True),
    Metric("precision", "precision (macro)", "Macro precision", True, report=True, epoch=True, decision=True),
    Metric("recall", "recall (macro)", "Macro recall", True, report=True, epoch=True, decision=True),
    Metric("f1", "F1 (macro)", "Macro F1", True, report=True, epoch=True, curve=True, decision=True),
    Metric("roc_auc", "ROC AUC", "ROC AUC", True, report=True, epoch=True, curve=True),
    Metric("eer", "EER", "EER", False, report=True, epoch=True, curve=True),
    Metric("eer_threshold", "EER threshold", "EER threshold", None, report=True),
    Metric("loss", "log loss", "Loss", False, report=True, epoch=True, curve=True, detection=True),
    Metric("fpr", "false-positive rate", "FPR", False, decision=True),
    Metric("fnr", "false-negative rate", "FNR", False, decision=True),
    # detection (torchmetrics' MeanAveragePrecision; COCO's definitions)
    Metric("map_50", "mAP@0.5", "mAP@0.5", True, detection=True),
    Metric("map", "mAP@[.5:.95] (COCO)", "COCO mAP@[.5:.95]", True, detection=True),
    Metric("map_75", "mAP@0.75", "mAP@0.75", True),
    Metric("mar_100", "recall (100 boxes per image)", "Recall@100", True),
)}


def _loss_first(keys) -> tuple[str, ...]:
    # training records lead with its objective, the loss (history.csv columns, curve panels)
    return tuple(sorted(keys, key=lambda k: k != "loss"))


REPORT_METRICS = tuple(k for k, m in REGISTRY.items() if m.report)  # evaluation reports, in this order
METRICS = _loss_first(k for k, m in REGISTRY.items() if m.epoch)  # per-epoch history columns
CURVE_METRICS = _loss_first(k for k, m in REGISTRY.items() if m.curve)  # training curves, run comparisons
DECISION_METRICS = tuple(k for k, m in REGISTRY.items() if m.decision)  # operating-point tables
HISTORY_COLUMNS = ["epoch", "split", *METRICS, "lr", "seconds"]  # history.csv: the per-epoch metrics of both splits
DETECTION_METRICS = _loss_first(k for k, m in REGISTRY.items() if m.detection)  # detection runs' history and curves


def curve_metrics(columns) -> tuple[str, ...]:
    """The curves to draw for histories with these columns: a detection run's (loss, mAP) when there is no
    classification metric among them, else classification's."""
    return CURVE_METRICS if any(m in columns for m in CURVE_METRICS if m != "loss") else DETECTION_METRICS


def format_metric(key: str, value: float | int | None) -> str:
    """`value` of metric `key` as every report prints it (4 decimals, counts as integers, 'n/a' when undefined)."""
    return REGISTRY.get(key, Metric(key, key, key, None)).format(value)


def eer(y_true_binary: ArrayLike, scores: ArrayLike, every_threshold: bool = False) -> tuple[float, float]:
    """Equal error rate and its threshold from sklearn's ROC curve: where false accepts equal false rejects.

    Between the two ROC points that bracket FPR == FNR the rate is the mean of the two (the usual
    convention); the threshold is that of the closest point.
    """
    y = np.asarray(y_true_binary).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"eer: {len(y)} labels but {len(s)} scores.")
    if not np.isfinite(s).all():
        raise ValueError("eer: scores contain NaN or inf.")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1, True, False}:
        raise ValueError(f"eer: labels must be binary 0/1, got {sorted(values)[:5]}.")
    if len(values) < 2:
        raise ValueError("eer: needs both classes among the labels.")
    # every_threshold: sklearn's default drops "suboptimal" ROC points, sometimes the one nearest FPR == FNR
    fpr, tpr, thresholds = skm.roc_curve(y, s, drop_intermediate=not every_threshold)
    fnr = 1.0 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2.0), float(thresholds[i])


def parse_rule(rule: str) -> tuple[str, float | None]:
    """'eer', 'fpr=0.01' or 'fnr=0.05' as (kind, target rate); a clear error for anything else."""
    text = str(rule).strip().lower().replace(" ", "")
    if text == "eer":
        return "eer", None
    kind, _, value = text.partition("=")
    try:
        target = float(value)
    except ValueError:
        target = math.nan
    if kind not in ("fpr", "fnr") or not 0.0 <= target <= 1.0:
        raise ValueError(f"Threshold rule {rule!r} not understood: use eer, fpr=RATE or fnr=RATE with RATE in [0, 1] "
                         "(e.g. fpr=0.01).")
    return kind, target


def operating_threshold(y_true_binary: ArrayLike, scores: ArrayLike, rule: str = "eer") -> float:
    """Decision threshold on P(positive) (positive when score >= threshold) chosen by `rule` from sklearn's ROC:
    'eer' where false positives and false negatives balance; 'fpr=R' the one calling most images positive with a
    false-positive rate of at most R; 'fnr=R' the one calling fewest positive with a false-negative rate of at most
    R. The threshold lies midway between the last score called positive and the next lower one."""
    kind, target = parse_rule(rule)
    y = np.asarray(y_true_binary).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if kind == "eer":
        return _finite_threshold(eer(y, s, every_threshold=True)[1], s)
    eer(y, s)  # the same checks on labels and scores
    fpr, tpr, thresholds = skm.roc_curve(y, s, drop_intermediate=False)
    if kind == "fpr":
        i = int(np.flatnonzero(fpr <= target + 1e-12)[-1])  # fpr rises along the curve; its first point is 0
    else:
        i = int(np.flatnonzero(1.0 - tpr <= target + 1e-12)[0])  # the last point has fnr 0
    return _finite_threshold(thresholds[i], s)


def _finite_threshold(t: float, scores: np.ndarray) -> float:
    # sklearn's first ROC point has threshold inf ("call nothing positive"): just above the top score does the same
    if not np.isfinite(t):
        return float(np.nextafter(scores.max(), np.inf))
    # ROC thresholds are scores themselves; midway to the next lower score calls the same images positive,
    # with a margin on both sides for images not yet seen
    below = scores[scores < t]
    return float((t + below.max()) / 2) if below.size else float(t)


def threshold_metrics(y_true_binary: ArrayLike, scores: ArrayLike, threshold: float) -> dict:
    """Accuracy, macro precision/recall/F1, false-positive and false-negative rates and the confusion matrix
    of the decisions `score >= threshold`."""
    y = np.asarray(y_true_binary).astype(int).ravel()
    return decision_metrics(y, (np.asarray(scores, dtype=float).ravel() >= threshold).astype(int))


def decision_metrics(y_true_binary: ArrayLike, y_pred_binary: ArrayLike) -> dict:
    """Metrics of binary decisions: accuracy, macro precision/recall/F1, FPR, FNR, confusion matrix (rows true)."""
    y, pred = np.asarray(y_true_binary).astype(int), np.asarray(y_pred_binary).astype(int)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(y, pred, labels=[0, 1], average="macro",
                                                               zero_division=0)
    cm = skm.confusion_matrix(y, pred, labels=[0, 1])
    (tn, fp), (fn, tp) = cm
    return {"n": int(len(y)), "accuracy": float(skm.accuracy_score(y, pred)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1),
            "fpr": float(fp / (fp + tn)) if fp + tn else math.nan, "fnr": float(fn / (fn + tp)) if fn + tp else math.nan,
            "confusion": cm.tolist()}


def classification_metrics(y_true: ArrayLike, probs: ArrayLike, classes: Sequence[str] | None = None) -> dict:
    """Accuracy, macro precision/recall/F1, ROC AUC, EER and log loss of class probabilities.

    Binary: ROC AUC and EER on P(class 1). Multi-class: one-vs-rest, averaged over the classes present
    (ROC AUC then equals sklearn's `multi_class="ovr"` macro average). Metrics that are undefined
    for the given labels (e.g. only one class present) are NaN rather than an exception.
    """
    y, p = _validate(y_true, probs, classes)
    n_classes = p.shape[1]
    labels = list(range(n_classes))
    pred = p.argmax(axis=1)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y, pred, labels=labels, average="macro", zero_division=0)
    out = {
        "n": int(len(y)),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": math.nan,
        "eer": math.nan,
        "eer_threshold": None,
        "loss": float(skm.log_loss(y, _renormalise(p), labels=labels)),
    }
    present = set(np.unique(y).tolist())
    if n_classes == 2:
        if len(present) == 2:
            out["roc_auc"] = float(skm.roc_auc_score(y, p[:, 1]))
            out["eer"], out["eer_threshold"] = eer(y, p[:, 1])
    else:
        # one-vs-rest over classes that have both positives and negatives here
        ovr = [c for c in labels if c in present and len(present) > 1]
        if ovr:
            out["roc_auc"] = float(np.mean([skm.roc_auc_score(y == c, p[:, c]) for c in ovr]))
            out["eer"] = float(np.mean([eer(y == c, p[:, c])[0] for c in ovr]))
    return out


def _validate(y_true, probs, classes) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D class indices, got shape {y.shape}.")
    if p.ndim != 2:
        raise ValueError(f"probs must be (N, C) class probabilities, got shape {p.shape}.")
    if len(y) != len(p):
        raise ValueError(f"{len(y)} labels but {len(p)} rows of probabilities.")
    if len(y) == 0:
        raise ValueError("No samples to score.")
    if p.shape[1] < 2:
        raise ValueError("probs needs at least 2 columns (one per class).")
    if classes is not None and len(classes) != p.shape[1]:
        raise ValueError(f"{len(classes)} class names but {p.shape[1]} probability columns.")
    if not np.isfinite(p).all():
        raise ValueError("probs contain NaN or inf.")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(int)
        else:
            raise ValueError("y_true must be integer class indices.")
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"y_true has class index {int(y.max() if y.max() >= p.shape[1] else y.min())}"
                         f" outside 0..{p.shape[1] - 1}.")
    return y, p


def _renormalise(p: np.ndarray) -> np.ndarray:
    # softmax outputs in float32 can miss 1.0 by ~1e-7, which makes sklearn's log_loss warn
    p = np.clip(p, 0.0, None)
    return p / p.sum(axis=1, keepdims=True).clip(1e-12)
