"""Evaluate a run's checkpoint on its test split: metrics, confusion matrix, ROC; saved as JSON and plots."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from workbench.atomic import write_json
from workbench.errors import WorkbenchError
from workbench.evaluate.dataset_check import DatasetChanged, check_unchanged, recorded_images
from workbench.evaluate.plots import confusion_figure, confusion_png, roc_figure, roc_png, save_figure
from workbench.metrics import classification_metrics, eer
from workbench.tables import read_csv, write_csv

if TYPE_CHECKING:  # annotations only: importing these at run time would cycle or cost start-up
    from workbench.store import Store
    from workbench.train.runs import LoadedRun
    from workbench.workspace import Workspace


@dataclass
class Evaluation:
    """What `workbench evaluate` reports and saves; `files` lists what was written."""

    run: str
    split: str
    checkpoint: str
    classes: list[str]
    n: int
    metrics: dict
    confusion: list[list[int]]
    roc: dict[str, dict]
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    operating_point: dict | None = None  # binary runs: metrics at the run's threshold beside those at argmax

    def to_dict(self) -> dict:
        """As saved in evaluation_<split>.json: plain JSON values, NaN and inf as null."""
        return json_safe(asdict(self))


def evaluation_path(ws: Workspace, run: str, split: str = "test") -> Path:
    """checkpoints/<run>/evaluation_<split>.json."""
    return ws.run_folder(run) / f"evaluation_{split}.json"


def predictions_path(ws: Workspace, run: str, split: str = "test") -> Path:
    """checkpoints/<run>/predictions_<split>.csv: one row per image (`predictions_table`)."""
    return ws.run_folder(run) / f"predictions_{split}.csv"


def split_images(loaded: LoadedRun, store: Store, split: str = "test") -> tuple[pd.DataFrame, list[str]]:
    """The run's `split` images as recorded at training, with current labels; raises DatasetChanged if they moved on."""
    from workbench.train.data import task_classes, task_labels

    cfg = loaded.config
    try:
        classes_now = task_classes(store.classes(cfg.dataset), cfg.grouping)
    except WorkbenchError as e:
        raise DatasetChanged(f"The dataset changed since run {cfg.name!r} was trained: {e} "
                             "Train a new run on the current data (or restore the dataset) to evaluate.") from None
    classes_then, images_then = recorded_images(loaded.run_dir)
    classes_then = classes_then or list(loaded.classes)
    # which images are there now (with sha256, to spot replaced files) does not depend on class names
    present = store.labelled(cfg.dataset, seed=cfg.seed)[["image_id", "sha256", "split"]]
    notes = check_unchanged(cfg.name, classes_then, images_then, classes_now, present, split)
    labelled = task_labels(store, cfg.dataset, cfg.grouping, cfg.seed)[0]
    if images_then.empty:
        part = labelled[labelled["split"] == split]
    else:
        wanted = images_then.loc[images_then["split"] == split, "image_id"]
        part = labelled[labelled["image_id"].isin(wanted)]
    if part.empty:
        raise WorkbenchError(f"Run {cfg.name!r} has no {split} images to evaluate on.")
    return part.sort_values("image_id").reset_index(drop=True), notes


def predictions_table(part: pd.DataFrame, probs: np.ndarray) -> pd.DataFrame:
    """image_id, path, y_true, y_pred, confidence, p_0..p_{C-1}: the table galleries and comparisons read."""
    pred = probs.argmax(axis=1)
    out = pd.DataFrame({"image_id": part["image_id"].astype(int).to_numpy(), "path": part["path"].to_numpy(),
                        "y_true": part["y"].astype(int).to_numpy(), "y_pred": pred,
                        "confidence": probs[np.arange(len(pred)), pred]})
    for k in range(probs.shape[1]):
        out[f"p_{k}"] = probs[:, k]
    return out


def probs_of(preds: pd.DataFrame) -> np.ndarray:
    """The (N, C) class probabilities of a predictions table (its p_0..p_{C-1} columns)."""
    cols = sorted((c for c in preds.columns if c.startswith("p_")), key=lambda c: int(c[2:]))
    return preds[cols].to_numpy(dtype=float)


def roc_curves(y: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict[str, dict]:
    """Binary: one curve on P(class 1) with EER and threshold. Multi-class: one-vs-rest per class present."""
    if probs.shape[1] == 2:
        wanted = [(classes[1], y == 1, probs[:, 1], True)]
    else:
        wanted = [(c, y == k, probs[:, k], False) for k, c in enumerate(classes)]
    curves = {}
    for name, positive, score, with_threshold in wanted:
        if positive.all() or not positive.any():
            continue  # ROC undefined without both positives and negatives
        fpr, tpr, _ = roc_curve(positive, score)
        rate, threshold = eer(positive, score)
        curves[name] = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": float(roc_auc_score(positive, score)),
                        "eer": rate, "eer_threshold": threshold if with_threshold else None}
    return curves


def evaluate_run(ws: Workspace, run: str, split: str = "test", which: str = "best",
                 threshold: str | None = None) -> Evaluation:
    """Score the run's `which` checkpoint on its `split` images; write JSON, predictions CSV and plots.

    Binary runs are also scored at their decision threshold: the stored one (chosen at the EER on the validation
    split the first time), or one chosen now by `threshold` ('eer', 'fpr=0.01', 'fnr=0.05')."""
    from workbench.train.predict import predict
    from workbench.train.runs import load_run

    loaded = load_run(ws, run, which)
    if threshold is not None:
        from workbench.evaluate.threshold import check_rule

        check_rule(threshold)
        if len(loaded.classes) != 2:
            raise WorkbenchError(f"--threshold is for binary runs; {run!r} has {len(loaded.classes)} classes "
                                 "and decides by the most probable one.")
    part, notes = split_images(loaded, ws.store, split)
    probs = np.asarray(predict(loaded, part["path"].tolist()), dtype=float)
    preds = predictions_table(part, probs)
    classes = list(loaded.classes)
    y = preds["y_true"].to_numpy()
    result = Evaluation(
        run=run, split=split, checkpoint=which, classes=classes, n=len(preds),
        metrics=classification_metrics(y, probs, classes),
        confusion=confusion_matrix(y, preds["y_pred"], labels=list(range(len(classes)))).tolist(),
        roc=roc_curves(y, probs, classes), notes=notes)
    if len(classes) == 2:
        result.operating_point = _operating_point(ws, run, which, loaded, preds, threshold, notes)
    write_csv(predictions_path(ws, run, split), preds)
    result.files += write_plots(ws, result)
    result.files += [str(predictions_path(ws, run, split)), str(evaluation_path(ws, run, split))]
    save_evaluation(ws, result)
    return result


def write_plots(ws: Workspace, ev: Evaluation) -> list[str]:
    """The confusion matrix and ROC of `ev` as HTML and PNG in plots_checkpoints/<run>/; the files written."""
    plot_dir = ws.plot_folder(ev.run)
    cm, split = np.array(ev.confusion), ev.split
    cm_title, roc_title = f"{ev.run}: confusion matrix ({split})", f"{ev.run}: ROC ({split})"
    files = save_figure(confusion_figure(cm, ev.classes, cm_title), plot_dir / f"confusion_{split}")
    files.append(confusion_png(cm, ev.classes, plot_dir / f"confusion_{split}.png", cm_title))
    if ev.roc:
        files += save_figure(roc_figure(ev.roc, roc_title), plot_dir / f"roc_{split}")
        files.append(roc_png(ev.roc, plot_dir / f"roc_{split}.png", roc_title))
    return files


def save_evaluation(ws: Workspace, ev: Evaluation) -> Path:
    """Write checkpoints/<run>/evaluation_<split>.json (atomically: a reader never sees half of it)."""
    return write_json(evaluation_path(ws, ev.run, ev.split), ev.to_dict())


def _operating_point(ws, run, which, loaded, preds, rule, notes) -> dict | None:
    from workbench.evaluate.threshold import choose_threshold, operating_point, run_threshold

    try:
        t = choose_threshold(ws, run, rule, which, loaded) if rule else run_threshold(ws, run, which, loaded)
    except WorkbenchError as e:
        if rule:
            raise
        notes.append(f"No decision threshold: {e}")
        return None
    return operating_point(preds, t)


def load_evaluation(ws: Workspace, run: str, split: str = "test") -> Evaluation | None:
    """The saved evaluation of a run, or None if it was never evaluated."""
    path = evaluation_path(ws, run, split)
    if not path.exists():
        return None
    return Evaluation(**json.loads(path.read_text()))


def load_predictions(ws: Workspace, run: str, split: str = "test") -> pd.DataFrame | None:
    """The saved predictions table of a run on `split`, or None if it was never evaluated."""
    path = predictions_path(ws, run, split)
    return read_csv(path) if path.exists() else None


def json_safe(obj):
    """`obj` with NaN and inf as None and numpy scalars as Python's: what JSON can hold."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    return obj
