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

import pandas as pd
import torch

from workbench.atomic import write_json
from workbench.detect import errors as E
from workbench.detect.data import DetectionTask, detection_task, read_image, target_of
from workbench.detect.map import detection_metrics, map_interval
from workbench.detect.model import LoadedDetector, load_detector
from workbench.evaluate.dataset_check import check_unchanged, recorded_images
from workbench.evaluate.evaluate import json_safe
from workbench.errors import WorkbenchError
from workbench.evaluate.plots import pr_figure, pr_png, save_figure
from workbench.tables import read_csv, write_csv
from workbench.workspace import Workspace

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

    def to_dict(self) -> dict:
        """As saved: plain JSON, NaN as null."""
        return json_safe(asdict(self))


def evaluation_file(run_dir: Path, split: str = "test") -> Path:
    """checkpoints/<run>/detection_<split>.json."""
    return Path(run_dir) / f"detection_{split}.json"


def matches_file(run_dir: Path, split: str = "test") -> Path:
    """checkpoints/<run>/detections_<split>.csv: every box's outcome at the operating score."""
    return Path(run_dir) / f"detections_{split}.csv"


def evaluate_detector(ws: Workspace, run: str, split: str = "test", which: str = "best", *,
                      resamples: int = INTERVAL_RESAMPLES) -> DetectionEvaluation:
    """Score the run's `which` checkpoint on its `split` images and save the evaluation, box outcomes and PR plot."""
    loaded = load_detector(ws.run_folder(run), which)
    cfg = loaded.config
    task = detection_task(ws.store, cfg.dataset, cfg.grouping, cfg.seed)
    classes_then, images_then = recorded_images(loaded.run_dir)
    notes = check_unchanged(run, classes_then, images_then, task.classes, task.images, split)
    test = _split_images(task, images_then, split)
    if test.empty:
        raise WorkbenchError(f"Run {run!r} has no {split} images to evaluate on (its set is too small to split three "
                             "ways: box more images).")
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
        run=run, split=split, checkpoint=which, classes=task.classes, n=m["n"], boxes=m["boxes"],
        metrics={k: m[k] for k in ("map_50", "map", "map_75", "mar_100", "map_small", "map_medium", "map_large")},
        intervals=intervals, per_class=m["per_class"], pr=m["pr"], score_threshold=threshold,
        outcomes=matched.outcome.value_counts().reindex(E.OUTCOMES, fill_value=0).astype(int).to_dict(), notes=notes)
    paths = test.set_index("image_id")["path"]
    write_csv(matches_file(loaded.run_dir, split), matched.assign(path=matched.image_id.map(paths)))
    result.files += _plots(ws, result)
    result.files += [str(matches_file(loaded.run_dir, split)), str(evaluation_file(loaded.run_dir, split))]
    write_json(evaluation_file(loaded.run_dir, split), result.to_dict())
    return result


def detect_images(loaded: LoadedDetector, images: pd.DataFrame, task: DetectionTask,
                  batch_size: int = 8) -> tuple[list[dict], list[dict]]:
    """The run's detections on `images` (every box the detector keeps) and their true boxes, in image pixels."""
    preds, truths = [], []
    by_image = {int(i): g for i, g in task.boxes.groupby("image_id")}
    for start in range(0, len(images), batch_size):
        part = images.iloc[start:start + batch_size]
        pixels = [read_image(p).as_subclass(torch.Tensor) for p in part.path]
        preds += loaded.detect(pixels)
        for image_id, im in zip(part.image_id, pixels):
            t = target_of(by_image.get(int(image_id), task.boxes.iloc[:0]), tuple(im.shape[-2:]))
            truths.append({"boxes": t["boxes"].as_subclass(torch.Tensor), "labels": t["labels"]})
    return preds, truths


def load_detection_evaluation(run_dir: Path, split: str = "test") -> DetectionEvaluation | None:
    """The saved evaluation of a detection run, or None if it was never evaluated."""
    path = evaluation_file(run_dir, split)
    return DetectionEvaluation(**json.loads(path.read_text())) if path.exists() else None


def load_matches(run_dir: Path, split: str = "test") -> pd.DataFrame | None:
    """The saved box outcomes of a detection run (detections_<split>.csv), or None."""
    path = matches_file(run_dir, split)
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


def _split_images(task: DetectionTask, images_then: pd.DataFrame, split: str) -> pd.DataFrame:
    """The images of `split` as recorded when the run was trained (all of them are still there: checked)."""
    wanted = images_then.loc[images_then["split"] == split, "image_id"] if len(images_then) else \
        task.images.loc[task.images.split == split, "image_id"]
    return task.images[task.images.image_id.isin(wanted)].sort_values("image_id").reset_index(drop=True)


def _plots(ws: Workspace, ev: DetectionEvaluation) -> list[str]:
    folder = ws.plot_folder(ev.run)
    title = f"{ev.run}: precision-recall at IoU 0.5 ({ev.split})"
    files = save_figure(pr_figure(ev.pr, title), folder / f"pr_{ev.split}")
    files.append(pr_png(ev.pr, folder / f"pr_{ev.split}.png", title))
    return files


def _f(x: float | None) -> str:
    return "  n/a " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"
