"""Suspected label errors: confident learning (cleanlab) on out-of-sample probabilities.

Two searches, one ranking (`rank_suspects`). Over every labelled image of the run's dataset (`run_label_errors`):
out-of-fold probabilities of a logistic regression on the run's backbone embeddings, cross-validated so no image is
scored by a head that saw its own (possibly wrong) label; embedding every image is the cost (minutes for thousands of
images on a CPU), so the result is saved beside the run. Over its test images (`label_errors_of_test_split`): the
run's own probabilities saved by `workbench evaluate` (out of sample: the run never trained on them), at no cost.
Cleanlab's confident-learning filter is conservative on small sets (a few hundred images), so images where the
probabilities simply contradict the label are listed too; `confident_learning` says which are cleanlab's, and all
are ranked by cleanlab's self-confidence score, most suspicious first.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from workbench.errors import WorkbenchError
from workbench.evaluate.evaluate import probs_of
from workbench.evaluate.staleness import run_predictions
from workbench.review.embeddings import embed
from workbench.review.run_cache import RunCache
from workbench.run import Run
from workbench.store import Store
from workbench.tables import read_csv, write_csv
from workbench.train.data import to_task
from workbench.train.runs import LoadedRun


COLUMNS = ["rank", "image_id", "path", "given", "suggested", "p_given", "p_suggested", "confident_learning"]
SAVED = "label_suspects-{key}.csv"  # beside the run, keyed by its best checkpoint and the labels it was found on


def out_of_fold_probs(features: np.ndarray, y: np.ndarray, n_classes: int, folds: int = 5,
                      seed: int = 0) -> np.ndarray:
    """(N, n_classes) probabilities, each row from a head trained on the other folds."""
    counts = np.bincount(y, minlength=n_classes)
    folds = int(min(folds, counts[counts > 0].min()))
    if folds < 2:
        raise WorkbenchError("Each class needs at least 2 labelled images to look for label errors.")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    present = np.flatnonzero(counts)
    probs = np.zeros((len(y), n_classes))
    probs[:, present] = cross_val_predict(clf, features, y, cv=cv, method="predict_proba")
    return probs


def find_suspects(features: np.ndarray, y: Sequence[int], classes: Sequence[str], image_ids: Sequence[int],
                  paths: Sequence[str] | None = None, folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Images whose given label the out-of-fold head contradicts, most certain first (cleanlab ranking)."""
    y = np.asarray(y, dtype=int)
    features = np.asarray(features, dtype=np.float32)
    if len(features) != len(y) or len(image_ids) != len(y):
        raise WorkbenchError(f"{len(features)} embeddings, {len(y)} labels and {len(image_ids)} image ids differ.")
    if len(np.unique(y)) < 2:
        raise WorkbenchError("Label errors need at least two classes among the labelled images.")
    probs = out_of_fold_probs(features, y, len(classes), folds, seed)
    return rank_suspects(y, probs, classes, image_ids, paths)


def rank_suspects(y: Sequence[int], probs: np.ndarray, classes: Sequence[str], image_ids: Sequence[int],
                  paths: Sequence[str] | None = None) -> pd.DataFrame:
    """Images whose given label `y` the out-of-sample `probs` (N, C) contradict (cleanlab's confident learning, or
    another class more probable), most suspicious first by cleanlab's self-confidence: COLUMNS."""
    y, probs = np.asarray(y, dtype=int), np.asarray(probs, dtype=float)
    if len(np.unique(y)) < 2:
        raise WorkbenchError("Label errors need at least two classes among the labelled images.")
    confident = find_label_issues(y, probs, filter_by="prune_by_noise_rate", min_examples_per_class=1)
    flagged = np.flatnonzero(confident | (probs.argmax(axis=1) != y))
    quality = get_label_quality_scores(y, probs, method="self_confidence")
    ranked = flagged[np.argsort(quality[flagged], kind="stable")]
    names = np.asarray(list(classes), dtype=object)
    suggested = probs.argmax(axis=1)
    rows = pd.DataFrame({
        "rank": np.arange(1, len(ranked) + 1),
        "image_id": np.asarray(image_ids)[ranked].astype(int),
        "path": np.asarray(paths if paths is not None else [""] * len(y), dtype=object)[ranked],
        "given": names[y[ranked]],
        "suggested": names[suggested[ranked]],
        "p_given": probs[ranked, y[ranked]],
        "p_suggested": probs[ranked, suggested[ranked]],
        "confident_learning": confident[ranked],
    })
    return rows[COLUMNS]


def label_errors_of_test_split(run: Run) -> pd.DataFrame:
    """Suspects among the run's test images, ranked on its own saved test probabilities (`workbench evaluate`'s,
    made again when stale): out of sample, since the run never trained on its test images; no model is run."""
    preds, classes = run_predictions(run)
    return rank_suspects(preds["y_true"].to_numpy(), probs_of(preds), classes, preds["image_id"].tolist(),
                         preds["path"].tolist())


def suspected_label_errors(loaded: LoadedRun, store: Store, folds: int = 5,
                           done: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Suspects among all labelled images of a run's dataset, with the run's class grouping applied; `done(n, N)`
    follows the embedding, most of the time it takes."""
    labels = loaded.task_labels(store)
    if labels.empty:
        raise WorkbenchError("The run's dataset has no labelled images.")
    features = embed(loaded, labels["path"].tolist(), done=done)
    return find_suspects(features, labels["y"].to_numpy(), loaded.classes, labels["image_id"].tolist(),
                         labels["path"].tolist(), folds=folds, seed=int(getattr(loaded.config, "seed", 0)))


def run_label_errors(run: Run, runs: RunCache, folds: int = 5,
                     done: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """`suspected_label_errors` of the run's best checkpoint, saved beside the run and read back while that
    checkpoint and the dataset's labels are as they were (the CLI, the Evaluate tab and the report share it)."""
    saved = saved_label_errors(run, folds)
    if saved is not None:
        return saved
    found = suspected_label_errors(runs.get(run), run.ws.store, folds, done=done)
    for old in run.folder.glob(SAVED.format(key="*")):
        old.unlink(missing_ok=True)
    write_csv(_saved_path(run, folds), found)
    return found


def saved_label_errors(run: Run, folds: int = 5) -> pd.DataFrame | None:
    """The search over every labelled image as `run_label_errors` saved it, while still current; else None."""
    saved = _saved_path(run, folds)
    return read_csv(saved) if saved.is_file() else None


def _saved_path(run: Run, folds: int) -> Path:
    """Keyed by the best checkpoint's time and every (image, label) pair: either changing makes a new search."""
    cfg = run.config
    # the resolved labels alone, not the task's split table: a report asks for this key of every study it writes
    labels = to_task(run.ws.store.resolved_labels(cfg.dataset), cfg.grouping).dropna()
    pairs = ",".join(f"{int(i)}:{label}" for i, label in sorted(labels.items()))
    key = hashlib.sha256(f"{run.checkpoint_stamp('best')} {folds} {pairs}".encode()).hexdigest()[:16]
    return run.folder / SAVED.format(key=key)
