"""Baselines for a comparison: pure functions, arrays in, a fitted model out (scikit-learn does the fitting).

`pixel_logreg` is a logistic regression on the raw pixels; `linear_probe` a logistic regression on frozen backbone
embeddings with C chosen by cross-validation on the train split; `rbf_svm` an RBF support-vector machine on the raw
pixels with C and gamma chosen by cross-validation on the train split. The SVM is the strong one: on small grey crops
it often beats a network trained badly, so a weak set-up shows at once. A tuned value that lands on the edge of its
grid widens the grid (twice at most); one still on the edge is said in the baseline's notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from workbench.metrics import classification_metrics
from workbench.train.results import BASELINES, PIXEL_BASELINES, PIXELS, PROBE, SVM  # noqa: F401 (their names)

PROBE_CS = tuple(np.logspace(-3, 1, 5))  # 0.001 .. 10; the path is warm-started from the strongest penalty
SVM_CS = (0.1, 1.0, 10.0, 100.0)
SVM_GAMMAS = (0.1, 1.0, 10.0)  # times sklearn's "scale" gamma, 1 / (features × pixel variance)
SVM_MAX_TRAIN = 10_000  # an SVM's fit grows with the square of its images: a stratified subsample above this
WIDEN = 2  # times a grid is widened when its best value is on its edge
STEP = 10.0  # each widening adds one value this factor beyond the edge


@dataclass
class Fitted:
    """A fitted baseline: predicts class probabilities; `params` the chosen hyper-parameters, `notes` what to know."""

    method: str
    model: BaseEstimator
    n_classes: int
    params: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def probs(self, x: np.ndarray) -> np.ndarray:
        """predict_proba with one column per task class, also for classes missing from train (zero there)."""
        p = np.zeros((len(x), self.n_classes))
        p[:, self.model.classes_.astype(int)] = self.model.predict_proba(_flat(x))
        return p

    def metrics(self, x: np.ndarray, y: np.ndarray) -> dict:
        """classification_metrics of the baseline on (x, y)."""
        return classification_metrics(y, self.probs(x))


@dataclass
class BaselineResult:
    """One baseline's metrics on the run's val split (`metrics`) and test split (`test`), its hyper-parameters and
    notes (a grid edge, a subsample)."""

    method: str
    metrics: dict
    params: dict = field(default_factory=dict)
    test: dict | None = None
    notes: list[str] = field(default_factory=list)


def pixel_logreg(x: np.ndarray, y: np.ndarray, n_classes: int, C: float = 1.0) -> Fitted:
    """Standardised raw pixels (any shape per image, flattened) -> L2 logistic regression at a fixed C."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300)).fit(_flat(x), y)
    return Fitted(PIXELS, model, n_classes, {"C": C, "features": _flat(x).shape[1]})


def linear_probe(e: np.ndarray, y: np.ndarray, n_classes: int, Cs=PROBE_CS, folds: int = 3, seed: int = 0) -> Fitted:
    """Standardised embeddings -> logistic regression, C picked by stratified k-fold log loss on train only."""
    cv = _folds(y, folds, seed)

    def fit(grid: dict[str, list[float]]):
        # tol 1e-3: lbfgs at sklearn's 1e-4 took 4x longer on 1,259 x 1,280 embeddings for the same val accuracy
        probe = LogisticRegressionCV(Cs=grid["C"], cv=cv, scoring="neg_log_loss", max_iter=300, tol=1e-3,
                                     l1_ratios=(0,), use_legacy_attributes=False)
        model = make_pipeline(StandardScaler(), probe).fit(_flat(e), y)
        return model, {"C": float(np.ravel(probe.C_)[0])}

    model, best, notes = widened_search(fit, {"C": list(Cs)})
    return Fitted(PROBE, model, n_classes, {**best, "folds": cv.n_splits}, notes)


def rbf_svm(x: np.ndarray, y: np.ndarray, n_classes: int, Cs=SVM_CS, gammas=SVM_GAMMAS, folds: int = 3,
            seed: int = 0, max_train: int = SVM_MAX_TRAIN) -> Fitted:
    """Raw pixels -> RBF SVC, C and gamma (relative to sklearn's "scale") by stratified k-fold accuracy on train only,
    refitted with Platt-scaled probabilities; above `max_train` images on a stratified subsample of that many.
    (Pixels are not rescaled: with gamma relative to "scale" a global rescale changes nothing.)"""
    x, y, notes = _flat(x), np.asarray(y), []
    if len(y) > max_train:
        total = len(y)
        x, _, y, _ = train_test_split(x, y, train_size=max_train, stratify=y, random_state=seed)
        notes.append(f"fitted on a stratified subsample of {max_train:,} of {total:,} train images "
                     "(an SVM's fit grows with the square of its images)")
    scale = 1.0 / (x.shape[1] * x.var()) if x.var() > 0 else 1.0  # sklearn's gamma="scale"
    cv = _folds(y, folds, seed)

    def fit(grid: dict[str, list[float]]):
        search = GridSearchCV(SVC(kernel="rbf"), {"C": grid["C"], "gamma": [g * scale for g in grid["gamma"]]},
                              cv=cv, scoring="accuracy").fit(x, y)
        best = search.best_params_
        return best, {"C": float(best["C"]), "gamma": float(best["gamma"]) / scale}

    chosen, best, more = widened_search(fit, {"C": list(Cs), "gamma": list(gammas)})
    # Platt scaling on held-out decision values (what SVC(probability=True) did), for AUC, EER and log loss
    model = CalibratedClassifierCV(SVC(kernel="rbf", **chosen), method="sigmoid", cv=cv, ensemble=False).fit(x, y)
    params = {"C": best["C"], "gamma": float(chosen["gamma"]), "gamma_x_scale": float(best["gamma"]),
              "folds": cv.n_splits, "train_images": int(len(y))}
    return Fitted(SVM, model, n_classes, params, notes + more)


def widened_search(fit: Callable[[dict[str, list[float]]], tuple[object, dict[str, float]]],
                   grids: dict[str, list[float]], widen: int = WIDEN,
                   step: float = STEP) -> tuple[object, dict, list[str]]:
    """fit(grids) -> (model, best value per name); while a best value is on the edge of its grid (and the grid can
    widen), one more value `step` times beyond that edge and fit again. Returns the model, the best values and a note
    for each value still on an edge."""
    grids = {k: sorted(v) for k, v in grids.items()}
    for round_ in range(widen + 1):
        model, best = fit(grids)
        edges = {k: _edge(grids[k], best[k]) for k in grids}
        edges = {k: e for k, e in edges.items() if e}
        if not edges or round_ == widen:
            break
        for k, e in edges.items():
            grids[k] = [grids[k][0] / step, *grids[k]] if e == "bottom" else [*grids[k], grids[k][-1] * step]
    notes = [f"{k} = {best[k]:g} is at the {e} of its grid even after widening it to {_span(grids[k])}: the best "
             "value may lie beyond" for k, e in edges.items()]
    return model, best, notes


def _edge(grid: list[float], value: float) -> str | None:
    if len(grid) < 2:
        return None
    if np.isclose(value, grid[-1]):
        return "top"
    if np.isclose(value, grid[0]):
        return "bottom"
    return None


def _span(grid: list[float]) -> str:
    return f"{grid[0]:g} to {grid[-1]:g}"


def _folds(y: np.ndarray, folds: int, seed: int) -> StratifiedKFold:
    """Stratified folds, fewer when the rarest class has fewer train images than folds (2 at least)."""
    rarest = int(np.unique(np.asarray(y), return_counts=True)[1].min(initial=folds))
    folds = max(2, min(folds, rarest))
    return StratifiedKFold(folds, shuffle=True, random_state=seed)


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)
