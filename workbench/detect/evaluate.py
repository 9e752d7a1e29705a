"""Evaluate a detection run on its test split: mAP@0.5 and COCO mAP@[.5:.95] with bootstrap intervals over the test
images, AP and precision-recall per class, and every box's outcome at an operating score chosen on the val split.

Writes checkpoints/<run>/detection_<split>.json (the evaluation), detections_<split>.csv (one row per kept predicted
box and per missed true box: MATCH_COLUMNS plus path) and plots_checkpoints/<run>/pr_<split>.html/.png.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workbench.atomic import write_json
from workbench.detect import errors as E
from workbench.detect.data import DetectionTask, detection_task, read_image
from workbench.detect.map import detection_metrics, map_interval
from workbench.detect.model import LoadedDetector, load_detector
from workbench.evaluate.dataset_check import check_unchanged, recorded_images
from workbench.evaluate.records import json_safe
from workbench.errors import WorkbenchError
from workbench.evaluate.plots import pr_figure, pr_png, save_figure
from workbench.metrics import REGISTRY
from workbench.tables import read_csv, write_csv
from workbench.run import Run

INTERVAL_RESAMPLES = 200  # bootstrap resamples of the test images per interval


@dataclass
class DetectionEvaluation:
    """What `workbench evaluate` reports for a detection run and saves as detection_<split>.json."""

    run: str
    split: str
    checkpoint: str
    classes: list[str]
    n: int  # images
    boxes: int  # true boxes
    metrics: dict  # map_50, map, map_75, mar_100, map_small, map_medium, map_large
    intervals: dict  # map_50 / map -> [low, high], 95% bootstrap over the images
    per_class: list[dict]  # class, boxes, ap_50, ap
    pr: dict  # class -> {recall, precision}, IoU 0.5
    score_threshold: float  # the operating score, chosen on the val split (best box F1)
    outcomes: dict  # outcome -> number of boxes at the operating score
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    task: str = "detection"
    resamples: int = INTERVAL_RESAMPLES  # behind `intervals`

    def to_dict(self) -> dict:
        """As saved: plain JSON, NaN as null."""
        return json_safe(asdict(self))


def evaluation_file(run: Run, split: str = "test") -> Path:
    """checkpoints/<run>/detection_<split>.json."""
    return run.detection_evaluation_path(split)


def boxes_file(run: Run, split: str = "test") -> Path:
    """checkpoints/<run>/boxes_<split>.csv: every box the detector kept on each image (what mAP is computed from)."""
    return run.folder / f"boxes_{split}.csv"


def matches_file(run: Run, split: str = "test") -> Path:
    """checkpoints/<run>/detections_<split>.csv: every box's outcome at the operating score."""
    return run.folder / f"detections_{split}.csv"


def thumbnails_folder(run: Run, split: str = "test") -> Path:
    """plots_checkpoints/<run>/box_errors/<stamp>/: the error gallery's box thumbnails of the saved box outcomes (a new
    evaluation, a new folder: thumbnails are cut once per evaluation)."""
    return run.plots / "box_errors" / str(matches_file(run, split).stat().st_mtime_ns)


def evaluate_detector(run: Run, split: str = "test", which: str = "best", *,
                      resamples: int = INTERVAL_RESAMPLES) -> DetectionEvaluation:
    """Score the run's `which` checkpoint on its `split` images and save the evaluation, box outcomes and PR plot."""
    loaded = load_detector(run.folder, which)
    cfg = loaded.config
    task = detection_task(run.ws.store, cfg.dataset, cfg.grouping, cfg.split_seed)
    classes_then, images_then = recorded_images(run)
    notes = check_unchanged(run.name, classes_then, images_then, task.classes, task.images, split)
    test = _split_images(task, images_then, split)
    if test.empty:
        raise WorkbenchError(f"Run {run.name!r} has no {split} images to evaluate on (its set is too small to split "
                             "three ways: box more images).")
    preds, truths = detect_images(loaded, test, task)
    val = _split_images(task, images_then, "val")
    threshold = E.best_score_threshold(val.image_id.tolist(), *detect_images(loaded, val, task), task.classes)
    m = detection_metrics(preds, truths, task.classes)
    intervals = {k: list(map_interval(preds, truths, k, resamples=resamples)) for k in ("map_50", "map")}
    matched = E.match(test.image_id.tolist(), preds, truths, task.classes, threshold)
    for row in m["per_class"]:
        if row["class"] in m["pr"]:
            m["pr"][row["class"]]["ap"] = row["ap_50"]
    result = DetectionEvaluation(
        run=run.name, split=split, checkpoint=which, classes=task.classes, n=m["n"], boxes=m["boxes"],
        metrics={k: m[k] for k in ("map_50", "map", "map_75", "mar_100", "map_small", "map_medium", "map_large")},
        intervals=intervals, resamples=resamples, per_class=m["per_class"], pr=m["pr"], score_threshold=threshold,
        outcomes=matched.outcome.value_counts().reindex(E.OUTCOMES, fill_value=0).astype(int).to_dict(), notes=notes)
    paths = test.set_index("image_id")["path"]
    write_csv(boxes_file(run, split), prediction_rows(test.image_id.tolist(), preds, task.classes))
    write_csv(matches_file(run, split), matched.assign(path=matched.image_id.map(paths)))
    result.files += _plots(run, result)
    result.files += [str(boxes_file(run, split)), str(matches_file(run, split)), str(evaluation_file(run, split))]
    write_json(evaluation_file(run, split), result.to_dict())
    return result


def detect_images(loaded: LoadedDetector, images: pd.DataFrame, task: DetectionTask,
                  batch_size: int = 8) -> tuple[list[dict], list[dict]]:
    """The run's detections on `images` (every box the detector keeps) and their true boxes, in image pixels."""
    preds = []
    for start in range(0, len(images), batch_size):
        paths = images.path.iloc[start:start + batch_size]
        preds += loaded.detect([read_image(p).as_subclass(torch.Tensor) for p in paths])
    return preds, task.truths(images.image_id.tolist())


def prediction_rows(image_ids: list[int], preds: list[dict], classes: list[str]) -> pd.DataFrame:
    """Detections as a table: image_id, label, score, x, y, w, h (an image with none has no row)."""
    rows = [{"image_id": int(i), "label": classes[int(c)], "score": float(s), "x": float(b[0]), "y": float(b[1]),
             "w": float(b[2] - b[0]), "h": float(b[3] - b[1])}
            for i, p in zip(image_ids, preds) for b, s, c in zip(p["boxes"].tolist(), p["scores"].tolist(),
                                                                  p["labels"].tolist())]
    return pd.DataFrame(rows, columns=["image_id", "label", "score", "x", "y", "w", "h"])


def load_predictions(run: Run, image_ids: list[int], classes: list[str], split: str = "test") -> list[dict] | None:
    """The saved detections of `image_ids` (boxes_<split>.csv) as predictions for `detection_metrics`, or None."""
    path = boxes_file(run, split)
    if not path.exists():
        return None
    table = read_csv(path, dtype={"label": str}, keep_default_na=False)
    index = {c: k for k, c in enumerate(classes)}
    by_image = {int(i): g for i, g in table.groupby("image_id")}
    empty = table.iloc[:0]
    out = []
    for i in image_ids:
        g = by_image.get(int(i), empty)
        xywh = g[["x", "y", "w", "h"]].to_numpy(dtype=np.float32).reshape(-1, 4)
        out.append({"boxes": torch.from_numpy(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)),
                    "scores": torch.as_tensor(g["score"].to_numpy(dtype=np.float32)),
                    "labels": torch.from_numpy(g["label"].map(index).to_numpy(dtype=np.int64, copy=True))})
    return out


def load_detection_evaluation(run: Run, split: str = "test") -> DetectionEvaluation | None:
    """The saved evaluation of a detection run, or None if it was never evaluated."""
    path = evaluation_file(run, split)
    return DetectionEvaluation(**json.loads(path.read_text())) if path.exists() else None


def load_matches(run: Run, split: str = "test") -> pd.DataFrame | None:
    """The saved box outcomes of a detection run (detections_<split>.csv), or None."""
    path = matches_file(run, split)
    if not path.exists():
        return None  # class names stay text ("3" is a class, not a number); an empty cell is no class
    return read_csv(path, dtype={"label": str, "predicted": str}, keep_default_na=False,
                    na_values={"score": [""], "iou": [""]})


def report(ev: DetectionEvaluation) -> str:
    """The evaluation as the CLI prints it: summary with intervals, AP per class, outcomes at the operating score."""
    lo50, hi50 = ev.intervals["map_50"]
    lo, hi = ev.intervals["map"]
    lines = [f"{ev.run}: {ev.split} split, {ev.n} images, {ev.boxes} boxes ({ev.checkpoint} checkpoint)",
             f"  mAP@0.5          {_f(ev.metrics['map_50'])}  [95% CI {_f(lo50)}, {_f(hi50)}]",
             f"  mAP@[.5:.95]     {_f(ev.metrics['map'])}  [95% CI {_f(lo)}, {_f(hi)}]  (COCO)",
             f"  mAP@0.75         {_f(ev.metrics['map_75'])}",
             f"  recall@100       {_f(ev.metrics['mar_100'])}",
             f"  mAP small/medium/large  {_f(ev.metrics['map_small'])} / {_f(ev.metrics['map_medium'])} / "
             f"{_f(ev.metrics['map_large'])}",
             "  (intervals: bootstrap over the test images)", "", "  class        boxes  AP@0.5  AP@[.5:.95]"]
    lines += [f"  {r['class']:<12} {r['boxes']:>5}  {_f(r['ap_50'])}  {_f(r['ap'])}" for r in ev.per_class]
    lines += ["", f"  at score >= {ev.score_threshold:g} (best box F1 on val): "
              + ", ".join(f"{k} {v}" for k, v in ev.outcomes.items())]
    return "\n".join(lines + [f"note: {n}" for n in ev.notes])


def metrics_table(ev: DetectionEvaluation) -> pd.DataFrame:
    """The Evaluate tab's metrics: (metric, value) rows, mAP with its bootstrap interval."""
    rows = [("images", str(ev.n)), ("true boxes", str(ev.boxes))]
    for key, name in (("map_50", "mAP@0.5"), ("map", "COCO mAP@[.5:.95]")):
        lo, hi = ev.intervals[key]
        rows.append((name, f"{_f(ev.metrics[key]).strip()} [{_f(lo).strip()}, {_f(hi).strip()}]"))
    rows += [(REGISTRY[k].label, _f(ev.metrics[k]).strip()) for k in ("map_75", "mar_100")]
    rows += [(f"mAP {size} boxes", _f(ev.metrics[f"map_{size}"]).strip()) for size in E.SIZES]
    rows.append(("operating score (chosen on val)", f"{ev.score_threshold:g}"))
    return pd.DataFrame(rows, columns=["metric", "value"])


def per_class_table(ev: DetectionEvaluation) -> pd.DataFrame:
    """AP per class: class, true boxes, AP@0.5, AP@[.5:.95] (n/a for a class without test boxes)."""
    return pd.DataFrame([{"class": r["class"], "boxes": r["boxes"], "AP@0.5": _f(r["ap_50"]).strip(),
                          "AP@[.5:.95]": _f(r["ap"]).strip()} for r in ev.per_class])


def _split_images(task: DetectionTask, images_then: pd.DataFrame, split: str) -> pd.DataFrame:
    """The images of `split` as recorded when the run was trained (all of them are still there: checked)."""
    wanted = images_then.loc[images_then["split"] == split, "image_id"] if len(images_then) else \
        task.images.loc[task.images.split == split, "image_id"]
    return task.images[task.images.image_id.isin(wanted)].sort_values("image_id").reset_index(drop=True)


def _plots(run: Run, ev: DetectionEvaluation) -> list[str]:
    folder = run.plots
    title = f"{ev.run}: precision-recall at IoU 0.5 ({ev.split})"
    files = save_figure(pr_figure(ev.pr, title), folder / f"pr_{ev.split}")
    files.append(pr_png(ev.pr, folder / f"pr_{ev.split}.png", title))
    return files


def _f(x: float | None) -> str:
    return "  n/a " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"
