"""Detection metrics: pure functions, boxes in, numbers out; torchmetrics' MeanAveragePrecision (COCO's rules, on the
faster-coco-eval backend) does the computing.

A prediction is {"boxes": (K, 4) x1 y1 x2 y2, "scores": (K,), "labels": (K,) class indices}; a truth is the same
without scores. One dict per image, predictions and truths in the same image order.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from scipy.stats import bootstrap
from torchmetrics.detection import MeanAveragePrecision

IOU_THRESHOLDS = [round(0.5 + 0.05 * i, 2) for i in range(10)]  # COCO's 0.5:0.05:0.95
RECALL_POINTS = np.linspace(0.0, 1.0, 101)  # COCO's 101-point interpolated precision
SUMMARY = ("map_50", "map", "map_75", "mar_100", "map_small", "map_medium", "map_large")


def _checked(items: Sequence[dict], what: str, scores: bool) -> list[dict]:
    out = []
    for i, d in enumerate(items):
        boxes = torch.as_tensor(d["boxes"], dtype=torch.float32).reshape(-1, 4)
        labels = torch.as_tensor(d["labels"], dtype=torch.int64).reshape(-1)
        if len(labels) != len(boxes):
            raise ValueError(f"{what} {i}: {len(boxes)} boxes but {len(labels)} labels.")
        if not torch.isfinite(boxes).all() or (boxes[:, 2:] < boxes[:, :2]).any():
            raise ValueError(f"{what} {i}: boxes must be finite x1, y1, x2, y2 with x2 >= x1 and y2 >= y1.")
        item = {"boxes": boxes, "labels": labels}
        if scores:
            item["scores"] = torch.as_tensor(d["scores"], dtype=torch.float32).reshape(-1)
            if len(item["scores"]) != len(boxes):
                raise ValueError(f"{what} {i}: {len(boxes)} boxes but {len(item['scores'])} scores.")
        out.append(item)
    return out


def _compute(preds: list[dict], truths: list[dict], extended: bool) -> dict:
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend="faster_coco_eval",
                                  class_metrics=extended, extended_summary=extended)
    metric.update(preds, truths)
    return metric.compute()


def _value(t) -> float:
    """A summary number; COCO's -1 (undefined: no box of that kind) as NaN."""
    v = float(t)
    return math.nan if v < 0 else v


def detection_metrics(preds: Sequence[dict], truths: Sequence[dict], classes: Sequence[str] | None = None) -> dict:
    """mAP@0.5, COCO mAP@[.5:.95], mAP@0.75, recall at 100 boxes per image, mAP by box size (COCO's small < 32²,
    medium, large > 96² pixels) and the number of images and boxes. With `classes`: also `per_class` (AP@0.5,
    AP@[.5:.95] and the boxes of each class) and `pr` (each class's precision at COCO's 101 recall points, IoU 0.5)."""
    if len(preds) != len(truths):
        raise ValueError(f"{len(preds)} images of predictions but {len(truths)} of truths.")
    preds, truths = _checked(preds, "prediction", True), _checked(truths, "truth", False)
    r = _compute(preds, truths, extended=classes is not None)
    out = {k: _value(r[k]) for k in SUMMARY}
    out["n"] = len(truths)
    out["boxes"] = int(sum(len(t["labels"]) for t in truths))
    if classes is not None:
        out["per_class"], out["pr"] = _per_class(r, truths, list(classes))
    return out


def _per_class(r: dict, truths: list[dict], classes: list[str]) -> tuple[list[dict], dict[str, dict]]:
    """AP@0.5 and AP@[.5:.95] per class, and the precision-recall curve at IoU 0.5, from COCO's precision array
    (IoU threshold, recall point, class, area range, max detections): all areas, 100 detections."""
    present = [int(c) for c in torch.atleast_1d(r["classes"]).tolist()] if "precision" in r else []
    precision = r["precision"].numpy() if present else None  # (10, 101, K, 4, 3); -1 where undefined
    counts = np.bincount(torch.cat([t["labels"] for t in truths]).numpy(), minlength=len(classes)) \
        if truths else np.zeros(len(classes), int)
    rows, curves = [], {}
    for k, name in enumerate(classes):
        row = {"class": name, "boxes": int(counts[k]) if k < len(counts) else 0, "ap_50": math.nan, "ap": math.nan}
        if k in present:
            p = precision[:, :, present.index(k), 0, -1]
            if row["boxes"]:
                row["ap_50"] = float(p[0][p[0] > -1].mean()) if (p[0] > -1).any() else math.nan
                row["ap"] = float(np.mean([q[q > -1].mean() for q in p if (q > -1).any()]))
                curves[name] = {"recall": RECALL_POINTS.tolist(), "precision": np.where(p[0] < 0, 0.0, p[0]).tolist()}
        rows.append(row)
    return rows, curves


def map_interval(preds: Sequence[dict], truths: Sequence[dict], key: str = "map_50", *, resamples: int = 200,
                 confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """A bootstrap interval of mAP (`key`) over the images: images resampled with replacement (scipy.stats.bootstrap,
    percentile method), so it says how much the figure depends on which test images there happened to be."""
    preds, truths = _checked(preds, "prediction", True), _checked(truths, "truth", False)
    if len(truths) < 2:
        return math.nan, math.nan

    def statistic(idx: np.ndarray) -> float:
        picked = idx.astype(int)
        value = _value(_compute([preds[i] for i in picked], [truths[i] for i in picked], False)[key])
        return 0.0 if math.isnan(value) else value

    res = bootstrap((np.arange(len(truths)),), statistic, vectorized=False, n_resamples=resamples,
                    confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_difference(preds_a: Sequence[dict], preds_b: Sequence[dict], truths: Sequence[dict], key: str = "map_50",
                      *, resamples: int = 200, confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """mAP (`key`) of A minus B on the same images, with a paired bootstrap interval: each resample draws images
    with replacement and scores both runs on those same images, so what the images share cancels out."""
    preds_a, preds_b = _checked(preds_a, "prediction", True), _checked(preds_b, "prediction", True)
    truths = _checked(truths, "truth", False)

    def score(preds: list[dict], idx: np.ndarray) -> float:
        value = _value(_compute([preds[i] for i in idx], [truths[i] for i in idx], False)[key])
        return 0.0 if math.isnan(value) else value

    def statistic(idx: np.ndarray) -> float:
        picked = idx.astype(int)
        return score(preds_a, picked) - score(preds_b, picked)

    everything = np.arange(len(truths))
    diff = statistic(everything)
    if len(truths) < 2:
        return diff, math.nan, math.nan
    res = bootstrap((everything,), statistic, vectorized=False, n_resamples=resamples, confidence_level=confidence,
                    method="percentile", rng=np.random.default_rng(seed))
    return diff, float(res.confidence_interval.low), float(res.confidence_interval.high)
