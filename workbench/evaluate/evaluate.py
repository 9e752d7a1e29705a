"""Evaluate a run's checkpoint on its test split: metrics, confusion matrix, ROC; saved beside the run, with plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from workbench.errors import WorkbenchError
from workbench.evaluate.dataset_check import split_images
from workbench.evaluate.plots import confusion_figure, confusion_png, roc_figure, roc_png, save_figure
from workbench.evaluate.records import Evaluation
from workbench.evaluate.threshold import check_rule, choose_threshold, operating_point, run_threshold
from workbench.metrics import classification_metrics, eer
from workbench.run import Run
from workbench.train.predict import predict
from workbench.train.runs import LoadedRun, load_run

__all__ = ["Evaluation", "evaluate_run", "predictions_table", "probs_of", "roc_curves", "split_images", "write_plots"]


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


def evaluate_run(run: Run, split: str = "test", which: str = "best", threshold: str | None = None) -> Evaluation:
    """Score the run's `which` checkpoint on its `split` images; write JSON, predictions CSV and plots.

    Binary runs are also scored at their decision threshold: the stored one (chosen at the EER on the validation
    split the first time), or one chosen now by `threshold` ('eer', 'fpr=0.01', 'fnr=0.05'). A run that did not
    complete (running, interrupted, cancelled, failed) is evaluated too, and its notes say so first."""
    loaded = load_run(run, which)
    if threshold is not None:
        check_rule(threshold)
        if len(loaded.classes) != 2:
            raise WorkbenchError(f"--threshold is for binary runs; {run.name!r} has {len(loaded.classes)} classes "
                                 "and decides by the most probable one.")
    part, notes = split_images(loaded, run.ws.store, split)
    unfinished = run.unfinished()
    if unfinished:
        notes.insert(0, f"{unfinished} Evaluated: its {which} checkpoint.")
    probs = np.asarray(predict(loaded, part["path"].tolist()), dtype=float)
    preds = predictions_table(part, probs)
    classes = list(loaded.classes)
    y = preds["y_true"].to_numpy()
    result = Evaluation(
        run=run.name, split=split, checkpoint=which, classes=classes, n=len(preds),
        metrics=classification_metrics(y, probs, classes),
        confusion=confusion_matrix(y, preds["y_pred"], labels=list(range(len(classes)))).tolist(),
        roc=roc_curves(y, probs, classes), notes=notes)
    if len(classes) == 2:
        result.operating_point = _operating_point(run, which, loaded, preds, threshold, notes)
    run.save_predictions(preds, split)
    result.files += write_plots(run, result)
    result.files += [str(run.predictions_path(split)), str(run.evaluation_path(split))]
    run.save_evaluation(result)
    return result


def write_plots(run: Run, ev: Evaluation) -> list[str]:
    """The confusion matrix and ROC of `ev` as HTML and PNG in plots_checkpoints/<run>/; the files written."""
    plot_dir = run.plots
    cm, split = np.array(ev.confusion), ev.split
    cm_title, roc_title = f"{ev.run}: confusion matrix ({split})", f"{ev.run}: ROC ({split})"
    files = save_figure(confusion_figure(cm, ev.classes, cm_title), plot_dir / f"confusion_{split}")
    files.append(confusion_png(cm, ev.classes, plot_dir / f"confusion_{split}.png", cm_title))
    if ev.roc:
        files += save_figure(roc_figure(ev.roc, roc_title), plot_dir / f"roc_{split}")
        files.append(roc_png(ev.roc, plot_dir / f"roc_{split}.png", roc_title))
    return files


def _operating_point(run: Run, which: str, loaded: LoadedRun, preds: pd.DataFrame, rule: str | None,
                     notes: list[str]) -> dict | None:
    try:
        t = choose_threshold(run, rule, which, loaded) if rule else run_threshold(run, which, loaded)
    except WorkbenchError as e:
        if rule:
            raise
        notes.append(f"No decision threshold: {e}")
        return None
    return operating_point(preds, t)
