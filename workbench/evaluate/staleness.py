"""When a run's saved evaluation no longer describes it, and its predictions brought up to date.

A saved evaluation is stale when it is missing, when the run's best checkpoint is newer than it (trained again), or
when the labels of its images changed since (a reviewer corrected one): galleries and tables then evaluate again
rather than show errors that are no longer errors.
"""

from __future__ import annotations

import pandas as pd

from workbench.evaluate.evaluate import evaluate_run
from workbench.evaluate.records import Evaluation
from workbench.run import Run
from workbench.train.data import to_task


def is_stale(run: Run, ev: Evaluation | None, preds: pd.DataFrame | None, split: str = "test") -> bool:
    """Whether the saved evaluation `ev` and predictions `preds` of `run` on `split` must be made again."""
    if ev is None or preds is None:
        return True
    if run.newer_checkpoint_than(run.evaluation_path(split)):
        return True
    return labels_changed(run, preds, ev.classes)


def labels_changed(run: Run, preds: pd.DataFrame, classes: list[str]) -> bool:
    """Whether any predicted image's current label (with the run's class grouping) differs from its y_true."""
    # resolved labels only: cheaper than the full split table
    labels = to_task(run.ws.store.resolved_labels(run.config.dataset), run.config.grouping)
    now = labels.map({c: i for i, c in enumerate(classes)}).reindex(preds["image_id"])
    return bool(now.isna().any()) or bool((now.to_numpy() != preds["y_true"].to_numpy()).any())


def run_predictions(run: Run, split: str = "test") -> tuple[pd.DataFrame, list[str]]:
    """Saved predictions of the run's best checkpoint on `split` and its classes, evaluating again if stale."""
    ev, preds = run.evaluation(split), run.predictions(split)
    if is_stale(run, ev, preds, split):
        ev = evaluate_run(run, split)
        preds = run.predictions(split)
    return preds, list(ev.classes)
