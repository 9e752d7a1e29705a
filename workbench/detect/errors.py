"""Detection errors at an operating score: each predicted box matched to a true one, so a reviewer sees what was
found, what was found as the wrong class, what was boxed where nothing is, and what was missed; grouped by box size
and by the images' category tags. Pure functions over tables; boxes are x, y, w, h in image pixels.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torchvision.ops import box_iou

CORRECT, WRONG_CLASS, FALSE_POSITIVE, MISSED = "correct", "wrong class", "false positive", "missed"
ERRORS = (FALSE_POSITIVE, MISSED, WRONG_CLASS)
OUTCOMES = (CORRECT, *ERRORS)
IOU = 0.5
SIZES = ("small", "medium", "large")  # COCO's areas: < 32², 32²..96², > 96² pixels
MATCH_COLUMNS = ["image_id", "outcome", "label", "predicted", "score", "iou", "x", "y", "w", "h", "size"]


def size_of(w: float, h: float) -> str:
    """COCO's size name of a box of w×h pixels."""
    area = w * h
    return SIZES[0] if area < 32 ** 2 else SIZES[1] if area <= 96 ** 2 else SIZES[2]


def match_image(image_id: int, pred: dict, truth: dict, classes: Sequence[str], min_score: float,
                iou: float = IOU) -> list[dict]:
    """One image's outcomes: each prediction scored at least `min_score` (best first) takes the unmatched true box it
    overlaps most (IoU >= `iou`), of its own class if it can (correct), else of another (wrong class); with none it
    is a false positive. True boxes nobody took are missed. Rows: MATCH_COLUMNS; the box shown is the predicted one,
    a missed box's own; `label` is the true class ('' for a false positive), `predicted` the predicted one."""
    keep = torch.as_tensor(pred["scores"]) >= min_score
    p_boxes = torch.as_tensor(pred["boxes"], dtype=torch.float32).reshape(-1, 4)[keep]
    p_scores, p_labels = torch.as_tensor(pred["scores"])[keep], torch.as_tensor(pred["labels"])[keep]
    t_boxes = torch.as_tensor(truth["boxes"], dtype=torch.float32).reshape(-1, 4)
    t_labels = torch.as_tensor(truth["labels"])
    ious = box_iou(p_boxes, t_boxes) if len(p_boxes) and len(t_boxes) else torch.zeros(len(p_boxes), len(t_boxes))
    taken = torch.zeros(len(t_boxes), dtype=torch.bool)
    rows = []
    for i in torch.argsort(p_scores, descending=True).tolist():
        overlap = ious[i].clone()
        overlap[taken] = -1.0
        same = torch.where(t_labels == p_labels[i], overlap, torch.full_like(overlap, -1.0))
        j, outcome = _pick(same, overlap, iou)
        if j is not None:
            taken[j] = True
        rows.append(_row(image_id, outcome, classes[int(t_labels[j])] if j is not None else "",
                         classes[int(p_labels[i])], float(p_scores[i]), float(ious[i, j]) if j is not None else 0.0,
                         p_boxes[i]))
    rows += [_row(image_id, MISSED, classes[int(t_labels[j])], "", math.nan, 0.0, t_boxes[j])
             for j in range(len(t_boxes)) if not taken[j]]
    return rows


def _pick(same: torch.Tensor, overlap: torch.Tensor, iou: float) -> tuple[int | None, str]:
    if len(same) and same.max() >= iou:
        return int(same.argmax()), CORRECT
    if len(overlap) and overlap.max() >= iou:
        return int(overlap.argmax()), WRONG_CLASS
    return None, FALSE_POSITIVE


def _row(image_id: int, outcome: str, label: str, predicted: str, score: float, iou: float, box) -> dict:
    x1, y1, x2, y2 = (float(v) for v in box)
    return {"image_id": int(image_id), "outcome": outcome, "label": label, "predicted": predicted, "score": score,
            "iou": iou, "x": x1, "y": y1, "w": x2 - x1, "h": y2 - y1, "size": size_of(x2 - x1, y2 - y1)}


def match(image_ids: Sequence[int], preds: Sequence[dict], truths: Sequence[dict], classes: Sequence[str],
          min_score: float) -> pd.DataFrame:
    """`match_image` over every image: one row per predicted box kept and per missed true box (MATCH_COLUMNS)."""
    rows = [r for i, p, t in zip(image_ids, preds, truths) for r in match_image(i, p, t, classes, min_score)]
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def f1_of(matched: pd.DataFrame) -> float:
    """F1 of the boxes at IoU 0.5: 2·correct / (2·correct + false positives + missed + 2·wrong class)
    (a box of the wrong class is both a false positive and a miss)."""
    n = matched.outcome.value_counts()
    tp = n.get(CORRECT, 0)
    denominator = 2 * tp + n.get(FALSE_POSITIVE, 0) + n.get(MISSED, 0) + 2 * n.get(WRONG_CLASS, 0)
    return 2 * tp / denominator if denominator else 0.0


def best_score_threshold(image_ids: Sequence[int], preds: Sequence[dict], truths: Sequence[dict],
                         classes: Sequence[str], grid: Sequence[float] = tuple(np.arange(0.05, 0.96, 0.05))) -> float:
    """The score floor (from `grid`) with the best box F1 on these images (the validation split): the operating
    point at which errors are listed and boxes drawn. Of equally good floors the highest (fewest boxes shown)."""
    scores = np.array([f1_of(match(image_ids, preds, truths, classes, float(t))) for t in grid])
    return round(float(grid[len(grid) - 1 - int(np.argmax(scores[::-1]))]), 2)


def outcome_counts(matched: pd.DataFrame, groups: pd.DataFrame | None = None, by: str = "size") -> pd.DataFrame:
    """Outcomes per group: by box `size` (a true box's size; a false positive's predicted size), or per category tag
    (`groups`: image_id, category; an image in several categories counts in each). Columns: group, true boxes,
    then each outcome's count, and the miss rate (missed / true boxes)."""
    if by == "size":
        parts = [(s, matched[matched["size"] == s]) for s in SIZES]
    else:
        parts = [(c, matched[matched.image_id.isin(ids)]) for c, ids in (groups.groupby("category")["image_id"]
                                                                          if groups is not None else [])]
    rows = [_counts("all boxes", matched)] + [_counts(name, part) for name, part in parts if len(part)]
    return pd.DataFrame(rows)


def _counts(group: str, part: pd.DataFrame) -> dict:
    n = part.outcome.value_counts()
    truths = int(n.get(CORRECT, 0) + n.get(MISSED, 0) + n.get(WRONG_CLASS, 0))
    row = {"group": group, "true boxes": truths, **{o: int(n.get(o, 0)) for o in OUTCOMES}}
    row["miss rate"] = round(n.get(MISSED, 0) / truths, 4) if truths else math.nan
    return row
