"""Classification metrics: pure functions, arrays in, numbers out; scikit-learn does the computing.

Shared by training (per-epoch curves) and evaluation (test metrics). Inputs are validated here, at the
edge, so callers get one clear message instead of a deep sklearn traceback.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from workbench.lazy import lazy_import

# scikit-learn is imported when a metric is first computed: the registry below is read by pages and commands that
# compute nothing (run tables, reports), and sklearn takes a second to import
skm = lazy_import("sklearn.metrics")
stats = lazy_import("scipy.stats")  # the same: ranks for bootstrapped AUCs


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
    one_vs_rest: bool = False  # with more than two classes: the mean of one-vs-rest values, and labelled so
    fmt: str = ".4f"

    def label_for(self, n_classes: int = 2) -> str:
        """The row label for a task of `n_classes` classes: 'mean one-vs-rest EER' where that is what it is."""
        return f"mean one-vs-rest {self.label}" if self.one_vs_rest and n_classes > 2 else self.label

    def title_for(self, n_classes: int | Iterable[int] = 2) -> str:
        """The panel title for runs of `n_classes` classes (one count, or one per run overlaid)."""
        counts = {n_classes} if isinstance(n_classes, int) else set(n_classes) or {2}
        if not self.one_vs_rest or max(counts) <= 2:
            return self.title
        return f"Mean one-vs-rest {self.title}" if min(counts) > 2 else f"{self.title} (mean one-vs-rest if > 2 classes)"

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
    Metric("roc_auc", "ROC AUC", "ROC AUC", True, report=True, epoch=True, curve=True, one_vs_rest=True),
    Metric("eer", "EER", "EER", False, report=True, epoch=True, curve=True, one_vs_rest=True),
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


def metric_label(key: str, n_classes: int = 2) -> str:
    """The label of metric `key` in reports and tables of a task with `n_classes` classes."""
    return REGISTRY[key].label_for(n_classes) if key in REGISTRY else key


def metric_title(key: str, n_classes: int | Iterable[int] = 2) -> str:
    """The title of metric `key`'s panel for runs of `n_classes` classes (one count, or one per run)."""
    return REGISTRY[key].title_for(n_classes) if key in REGISTRY else key


def format_metric(key: str, value: float | int | None) -> str:
    """`value` of metric `key` as every report prints it (4 decimals, counts as integers, 'n/a' when undefined)."""
    return REGISTRY.get(key, Metric(key, key, key, None)).format(value)


def eer(y_true_binary: ArrayLike, scores: ArrayLike) -> tuple[float, float]:
    """Equal error rate and its threshold: where the false-positive rate equals the false-negative rate.

    Computed on the ROC at every threshold (sklearn's default curve drops points, sometimes the ones nearest the
    crossing: 0.0788 instead of 0.0803 on one real run) and interpolated linearly between the two thresholds whose
    (FPR, FNR) bracket FPR == FNR. The threshold is that of the nearer of the two, a score that really decides.
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
    rates, thresholds = eer_rows(y[None, :].astype(bool), s[None, :])
    return float(rates[0]), float(thresholds[0])


# -- per row: many resamples of one test set at once (the bootstrap's statistics), numpy over (R, n) arrays ---------

def eer_rows(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EER and its threshold for each row of (R, n) booleans and scores, as `eer`: the ROC at every distinct score
    (the points of sklearn's `roc_curve(drop_intermediate=False)`), linear between the two points around the
    crossing. NaN for a row without both classes."""
    order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, axis=1)
    t = np.take_along_axis(positive, order, axis=1)
    tp, fp = np.cumsum(t, axis=1), np.cumsum(~t, axis=1)
    n_pos, n_neg = tp[:, -1:], fp[:, -1:]
    rows, ones = np.arange(len(s)), np.ones((len(s), 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        # point 0 calls nothing positive (threshold inf); point k calls the k highest scores positive
        fpr = np.hstack([0 * ones, fp / n_neg])
        gap = np.hstack([ones, 1 - tp / n_pos]) - fpr  # FNR - FPR: 1 at point 0, down to -1 at the last point
    threshold = np.hstack([np.inf * ones, s])
    point = np.hstack([ones, s[:, :-1] != s[:, 1:], ones]).astype(bool)  # tied scores make one point: their last
    i = np.argmax(point & (gap <= 0), axis=1)  # the first point where FPR has caught up with FNR
    before = np.maximum.accumulate(np.where(point, np.arange(point.shape[1]), 0), axis=1)[rows, i - 1]
    g0, g1 = gap[rows, before], gap[rows, i]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = g0 / (g0 - g1)  # where the straight line between the two points crosses FNR == FPR
    rate = fpr[rows, before] + w * (fpr[rows, i] - fpr[rows, before])
    undefined = (n_pos[:, 0] == 0) | (n_neg[:, 0] == 0)
    return np.where(undefined, np.nan, rate), np.where(w >= 0.5, threshold[rows, i], threshold[rows, before])


def auc_rows(positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of (R, n) booleans and scores, by ranks (Mann-Whitney U over n_pos·n_neg, ties
    counted half, as sklearn's roc_auc_score); NaN for a row without both classes."""
    ranks = stats.rankdata(scores, axis=1)
    n_pos = positive.sum(axis=1)
    n_neg = positive.shape[1] - n_pos
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((ranks * positive).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def ranking_rows(y: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ROC AUC, EER) of each row of (R, n) class indices with (R, n, C) probabilities, as `ranking_metrics`:
    binary on P(class 1), multi-class the mean of one-vs-rest values over the classes present in the row."""
    if probs.shape[-1] == 2:
        return auc_rows(y == 1, probs[..., 1]), eer_rows(y == 1, probs[..., 1])[0]
    per_class = [(auc_rows(y == c, probs[..., c]), eer_rows(y == c, probs[..., c])[0]) for c in range(probs.shape[-1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with a single class: NaN, as ranking_metrics
        return tuple(np.nanmean(np.stack(v), axis=0) for v in zip(*per_class))


def f1_rows(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Macro F1 of each row of (R, n) true and predicted class indices over all `n_classes` classes, as
    `classification_metrics` (sklearn's zero_division=0: a class neither true nor predicted counts 0)."""
    f1 = []
    for c in range(n_classes):
        t, p = y == c, pred == c
        tp = (t & p).sum(axis=1)
        denominator = t.sum(axis=1) + p.sum(axis=1)
        f1.append(np.divide(2 * tp, denominator, out=np.zeros(len(y)), where=denominator > 0))
    return np.mean(f1, axis=0)


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
        return _finite_threshold(eer(y, s)[1], s)
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

    Binary: ROC AUC and EER on P(class 1). Multi-class: one-vs-rest, averaged over the classes present (ROC AUC
    then equals sklearn's `multi_class="ovr"` macro average; reports label both "mean one-vs-rest"). Metrics that
    are undefined for the given labels (e.g. only one class present) are NaN rather than an exception.
    """
    y, p = _validate(y_true, probs, classes)
    n_classes = p.shape[1]
    labels = list(range(n_classes))
    pred = p.argmax(axis=1)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y, pred, labels=labels, average="macro", zero_division=0)
    auc, rate, threshold = ranking_metrics(y, p)
    return {
        "n": int(len(y)),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": auc,
        "eer": rate,
        "eer_threshold": threshold,
        "loss": float(skm.log_loss(y, _renormalise(p), labels=labels)),
    }


def ranking_metrics(y: np.ndarray, probs: np.ndarray) -> tuple[float, float, float | None]:
    """(ROC AUC, EER, EER threshold) of class probabilities: binary on P(class 1); multi-class the mean over the
    classes present of one-vs-rest values (no threshold); NaN where undefined (one class present)."""
    present = np.unique(y)
    if len(present) < 2:
        return math.nan, math.nan, None
    if probs.shape[1] == 2:
        rate, threshold = eer(y, probs[:, 1])
        return float(skm.roc_auc_score(y, probs[:, 1])), rate, threshold
    ovr = [int(c) for c in present]  # one-vs-rest over classes that have both positives and negatives here
    return (float(np.mean([skm.roc_auc_score(y == c, probs[:, c]) for c in ovr])),
            float(np.mean([eer(y == c, probs[:, c])[0] for c in ovr])), None)


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
