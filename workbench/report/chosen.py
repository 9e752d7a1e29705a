"""Section 4, the chosen run: its recipe, curves, test metrics with their intervals, confusion matrix, ROC with the
EER point and the operating point, from its saved evaluation (evaluated first only when that is missing or stale);
a detector's mAP with intervals, AP per class and precision-recall curves instead (report.detection)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from workbench.evaluate.plots import confusion_figure, roc_figure
from workbench.evaluate.report import intervals_note, metrics_table, operating_point_table, operating_point_text
from workbench.evaluate.staleness import run_predictions
from workbench.plots import curves_figure
from workbench.report import document as doc
from workbench.report.detection import detection_results
from workbench.report.methods import check_feature_maps
from workbench.report.study import Study
from workbench.run import Run

RECIPE = ("task", "method", "backbone", "weights", "input_size", "detect.detector", "detect.image_size", "epochs",
          "batch_size", "optimizer", "lr", "schedule", "seed", "grouping", "augment.flip", "augment.rotation",
          "augment.crop_scale", "augment.normalize")


def chosen_section(study: Study) -> doc.Section | None:
    """The run looked at closely; None when the study has no run."""
    run = study.chosen
    if run is None:
        return None
    s = doc.Section("chosen", f"The chosen run: {run.name}")
    s.add(doc.paragraph(_why(study)))
    unfinished = run.unfinished()
    s.check(unfinished is None, f"the run completed its {run.config.epochs} epochs", unfinished or "")
    if len(study.runs) < 2:  # else the methods section checks every run
        check_feature_maps(s, [run])
    flat = run.config.flat()
    s.add(doc.heading("Recipe"), doc.definitions([(k, str(flat[k])) for k in recipe_keys(run)
                                                  if k in flat and flat[k] != ""]))
    if len(run.history):
        best = f" Best epoch {run.best_epoch} (val loss {run.best_val_loss:.4f}): best.pt." if run.best_epoch else ""
        s.add(doc.heading("Training curves"),
              doc.figure(curves_figure({run.name: run.history}, n_classes=len(run.classes)),
                         f"Per epoch: val solid, train dotted.{best}"))
    if run.is_detector:
        detection_results(s, run)
    else:
        _evaluation(s, run)
    return s


def recipe_keys(run: Run) -> list[str]:
    """The settings a reader needs to know the run by: a detector's own (detector, image size) or a classifier's."""
    other = "input_size" if run.is_detector else "detect."
    return [k for k in RECIPE if not k.startswith(other)]


def _why(study: Study) -> str:
    if len(study.runs) <= 1:
        return "The study's run."
    scored = [r for r in study.runs if r.best_val_loss is not None]
    if study.chosen in scored and study.chosen.best_val_loss == min(r.best_val_loss for r in scored):
        return (f"Of the study's {len(study.runs)} runs, the one with the lowest best validation loss "
                f"({study.chosen.best_val_loss:.4f}): chosen on validation, never on test.")
    return "Chosen by name."


def _evaluation(s: doc.Section, run: Run) -> None:
    run_predictions(run)  # the saved evaluation, made again only if missing or stale
    ev = run.evaluation("test")
    s.info(f"test evaluation of its {ev.checkpoint} checkpoint on {ev.n} images")
    for note in ev.notes:
        s.warn(note)
    # the intervals `workbench evaluate` computed and saved (evaluate.intervals), shown as its CLI and tab show them
    s.add(doc.heading("Test metrics"),
          doc.table(metrics_table(ev.metrics, len(ev.classes), ev.intervals), caption=intervals_note(ev.intervals)))
    if not ev.intervals:
        s.warn("its saved evaluation predates intervals: evaluate it again (workbench evaluate) to see them")
    cm = np.asarray(ev.confusion)
    s.add(doc.heading("Confusion matrix"), doc.figure(confusion_figure(cm, ev.classes, f"{run.name}: confusion matrix"),
                                                      "Counts; colour: share of the true class's row."))
    op = ev.operating_point
    if ev.roc:
        s.add(doc.heading("ROC"), doc.figure(roc_with_threshold(ev.roc, op, f"{run.name}: ROC (test)"),
                                             "EER marked where false positives equal false negatives"
                                             + ("; the decision threshold's point too." if op else ".")))
    if op:
        s.add(doc.heading("Operating point"), doc.paragraph(operating_point_text(op)),
              doc.table(operating_point_table(op)))
    elif len(ev.classes) > 2:
        s.info("multi-class: decisions by the most probable class, no threshold")


def roc_with_threshold(curves: dict, op: dict | None, title: str) -> go.Figure:
    """The evaluation's ROC figure with the decision threshold's test point added (binary runs with one)."""
    fig = roc_figure(curves, title)
    if op:
        at = op["at_threshold"]
        fig.add_trace(go.Scatter(x=[at["fpr"]], y=[1 - at["fnr"]], mode="markers", name=f"threshold {op['threshold']:.3f}",
                                 marker={"size": 12, "symbol": "diamond"}))
    return fig

