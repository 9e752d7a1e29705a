"""Linear baselines for a comparison: pure functions, arrays in, val metrics out (scikit-learn does the fitting).

`pixel_logreg` is a logistic regression on the raw pixels; `linear_probe` is a logistic regression on frozen
backbone embeddings with C chosen by cross-validation on the train split. If fine-tuning or feature extraction
does not beat these, the backbone (or the method) is not earning its keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from workbench.metrics import classification_metrics
from workbench.train.results import PIXELS, PROBE

PROBE_CS = np.logspace(-3, 1, 5)  # 0.001 .. 10; the path is warm-started from the strongest penalty


@dataclass
class BaselineResult:
    """One baseline's val metrics (classification_metrics' keys) and the fitted hyper-parameters."""

    method: str
    metrics: dict
    params: dict = field(default_factory=dict)


def pixel_logreg(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                 n_classes: int, C: float = 1.0) -> BaselineResult:
    """Standardised raw pixels (any shape per image, flattened) -> L2 logistic regression at a fixed C."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300))
    model.fit(_flat(x_train), y_train)
    probs = _full_probs(model, _flat(x_val), n_classes)
    return BaselineResult(PIXELS, classification_metrics(y_val, probs), {"C": C, "features": _flat(x_val).shape[1]})


def linear_probe(e_train: np.ndarray, y_train: np.ndarray, e_val: np.ndarray, y_val: np.ndarray,
                 n_classes: int, Cs=PROBE_CS, folds: int = 3, seed: int = 0) -> BaselineResult:
    """Standardised embeddings -> logistic regression, C picked by stratified k-fold log loss on train only."""
    folds = max(2, min(folds, int(np.bincount(np.asarray(y_train)).min(initial=folds))))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    # tol 1e-3: lbfgs at sklearn's 1e-4 took 4x longer on 1,259 x 1,280 embeddings for the same val accuracy
    probe = LogisticRegressionCV(Cs=list(Cs), cv=cv, scoring="neg_log_loss", max_iter=300, tol=1e-3, l1_ratios=(0,),
                                 use_legacy_attributes=False)
    model = make_pipeline(StandardScaler(), probe)
    model.fit(_flat(e_train), y_train)
    probs = _full_probs(model, _flat(e_val), n_classes)
    return BaselineResult(PROBE, classification_metrics(y_val, probs), {"C": float(np.ravel(probe.C_)[0]), "folds": folds})


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)


def _full_probs(model, x: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba with one column per task class, also for classes missing from train (zero there)."""
    p = np.zeros((len(x), n_classes))
    p[:, model.classes_.astype(int)] = model.predict_proba(x)
    return p
