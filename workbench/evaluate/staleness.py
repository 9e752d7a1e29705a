"""When a run's saved evaluation no longer describes it, and its predictions brought up to date.

A saved evaluation is stale when it is missing, when the run's best checkpoint is newer than it (trained again), or
when the labels of its images changed since (a reviewer corrected one): galleries and tables then evaluate again
rather than show errors that are no longer errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from workbench.evaluate.evaluate import (Evaluation, evaluate_run, evaluation_path, load_evaluation,
                                         load_predictions)

if TYPE_CHECKING:  # annotations only: importing these at run time would cycle or cost start-up
    from workbench.workspace import Workspace


def is_stale(ws: Workspace, run: str, ev: Evaluation | None, preds: pd.DataFrame | None, split: str = "test") -> bool:
    """Whether the saved evaluation `ev` and predictions `preds` of `run` on `split` must be made again."""
    from workbench.train.runs import run_dir

    if ev is None or preds is None:
        return True
    ckpt = run_dir(ws, run) / "best.pt"
    if ckpt.exists() and ckpt.stat().st_mtime_ns > evaluation_path(ws, run, split).stat().st_mtime_ns:
        return True
    return labels_changed(ws, run, preds, ev.classes)


def labels_changed(ws: Workspace, run: str, preds: pd.DataFrame, classes: list[str]) -> bool:
    """Whether any predicted image's current label (with the run's class grouping) differs from its y_true."""
    from workbench.train.data import to_task
    from workbench.train.runs import load_config

    cfg = load_config(ws, run)
    # resolved labels only: cheaper than the full split table
    labels = to_task(ws.store.resolved_labels(cfg.dataset), cfg.grouping)
    now = labels.map({c: i for i, c in enumerate(classes)}).reindex(preds["image_id"])
    return bool(now.isna().any()) or bool((now.to_numpy() != preds["y_true"].to_numpy()).any())


def run_predictions(ws: Workspace, run: str, split: str = "test") -> tuple[pd.DataFrame, list[str]]:
    """Saved predictions of the run's best checkpoint on `split` and its classes, evaluating again if stale."""
    ev, preds = load_evaluation(ws, run, split), load_predictions(ws, run, split)
    if is_stale(ws, run, ev, preds, split):
        ev = evaluate_run(ws, run, split)
        preds = load_predictions(ws, run, split)
    return preds, list(ev.classes)
