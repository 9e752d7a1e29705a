"""How sure one run's test metrics are, and whether two runs differ on the same test images: scipy.stats computes.

Accuracy gets a Wilson score interval (a binomial proportion: right for small test sets and accuracies near 1);
macro F1, ROC AUC and EER, which no formula covers, get percentile bootstrap intervals from resampling test images
(seeded, so an evaluation repeats exactly). Two runs are compared by McNemar's exact test: a binomial test on the
images exactly one of them gets right. Pure functions: arrays in, records out.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.metrics import f1_rows, ranking_rows

LEVEL = 0.95
RESAMPLES = 1000  # percentile bootstrap: its interval ends move by ~0.002 between seeds at 1,000 (750 MNIST test images)
SEED = 0


@dataclass(frozen=True)
class Interval:
    """A `level` confidence interval [low, high] of one metric, and how it was made."""

    low: float
    high: float
    method: str  # "Wilson score" or "bootstrap over N test images (R resamples)"
    level: float = LEVEL

    def describe(self, fmt: str = ".3f") -> str:
        """'95% CI 0.912–0.951' (no method: tables name it in a note)."""
        return f"{self.level:.0%} CI {self.low:{fmt}}–{self.high:{fmt}}"

    def to_dict(self) -> dict:
        """As saved in evaluation_<split>.json."""
        return asdict(self)


def wilson(correct: int, n: int, level: float = LEVEL) -> Interval:
    """Wilson score interval of a proportion (accuracy: `correct` of `n` images right)."""
    if n <= 0 or not 0 <= correct <= n:
        raise ValueError(f"wilson: need 0 <= correct <= n and n > 0, got {correct} of {n}.")
    ci = stats.binomtest(int(correct), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return Interval(float(ci.low), float(ci.high), "Wilson score", level)


def bootstrap(statistics: Callable[[np.ndarray], np.ndarray], n: int, *, resamples: int = RESAMPLES,
              seed: int = SEED, level: float = LEVEL) -> list[Interval | None]:
    """Percentile bootstrap intervals of k statistics over `n` images resampled with replacement. `statistics` takes
    (R, n) image indices (R resamples at once) and returns (k, R) values, NaN where undefined (a class missing from a
    resample): those resamples are left out of that statistic's interval, and with more than a tenth of them
    undefined it has none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)  # all resamples equal (a perfect run): [x, x]
        res = stats.bootstrap((np.arange(n),), lambda idx, axis=-1: statistics(np.atleast_2d(idx)), vectorized=True,
                              n_resamples=resamples, confidence_level=level, method="percentile",
                              random_state=np.random.default_rng(seed))
    method = f"bootstrap over {n} test images ({resamples} resamples)"
    out = []
    for k, dist in enumerate(np.atleast_2d(res.bootstrap_distribution)):
        finite = dist[np.isfinite(dist)]
        if len(finite) == len(dist):
            out.append(Interval(float(np.ravel(res.confidence_interval.low)[k]),
                                float(np.ravel(res.confidence_interval.high)[k]), method, level))
        elif len(finite) >= 0.9 * len(dist):
            low, high = np.percentile(finite, [50 * (1 - level), 50 * (1 + level)])
            out.append(Interval(float(low), float(high), method, level))
        else:
            out.append(None)
    return out


def metric_intervals(y: np.ndarray, probs: np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED,
                     level: float = LEVEL) -> dict[str, Interval]:
    """Accuracy (Wilson), macro F1, ROC AUC and EER (bootstrap over images) of a run's predictions, by metric key;
    a metric undefined here (ROC AUC with one class present) has none."""
    y, probs = np.asarray(y), np.asarray(probs, dtype=float)
    pred = probs.argmax(axis=1)

    def statistics(i: np.ndarray) -> np.ndarray:
        return np.stack([f1_rows(y[i], pred[i], probs.shape[1]), *ranking_rows(y[i], probs[i])])

    intervals = bootstrap(statistics, len(y), resamples=resamples, seed=seed, level=level)
    out = {"accuracy": wilson(int((pred == y).sum()), len(y), level)}
    out.update({k: v for k, v in zip(("f1", "roc_auc", "eer"), intervals) if v is not None})
    return out


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test of two runs on the same `n` test images: `only_a` images only run A gets right,
    `only_b` only run B; p-value of a two-sided binomial test of only_a among the discordant ones at 1/2."""

    n: int
    only_a: int
    only_b: int
    p_value: float

    def describe(self) -> str:
        """One plain sentence: counts, p-value, and what it means at the 5% level."""
        if self.only_a == self.only_b == 0:
            return (f"McNemar's test on {self.n} shared test images: both runs get exactly the same images right, "
                    "so there is no evidence of a difference (p = 1).")
        verdict = ("a difference in accuracy unlikely to be chance (p < 0.05)" if self.p_value < 0.05 else
                   "no evidence of a difference in accuracy (p ≥ 0.05)")
        return (f"McNemar's exact test on {self.n} shared test images: only A right on {self.only_a}, only B right on "
                f"{self.only_b}; p = {self.p_value:.3g}: {verdict}.")


def mcnemar(right_a: np.ndarray, right_b: np.ndarray) -> McNemar:
    """McNemar's exact test from each image's right/wrong under runs A and B (same images, same order)."""
    a, b = np.asarray(right_a, dtype=bool), np.asarray(right_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"mcnemar: need two equal 1-D right/wrong arrays, got {a.shape} and {b.shape}.")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    p = stats.binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return McNemar(len(a), only_a, only_b, float(p))


def mcnemar_runs(preds_a: pd.DataFrame, preds_b: pd.DataFrame) -> McNemar:
    """McNemar's test of two runs' predictions tables (image_id, y_true, y_pred); refused unless both were tested
    on exactly the same images with the same true classes."""
    ids_a, ids_b = set(preds_a["image_id"]), set(preds_b["image_id"])
    if ids_a != ids_b:
        raise WorkbenchError(
            f"McNemar's test needs the same test images: run A has {len(ids_a)}, run B {len(ids_b)}, "
            f"{len(ids_a & ids_b)} shared. Their splits differ; train both with the same split (seed) to compare them.")
    both = preds_a.merge(preds_b, on="image_id", suffixes=("_a", "_b"))
    if (both["y_true_a"] != both["y_true_b"]).any():
        raise WorkbenchError("McNemar's test needs the same true classes: the runs' class lists or groupings differ.")
    return mcnemar((both["y_pred_a"] == both["y_true_a"]).to_numpy(), (both["y_pred_b"] == both["y_true_b"]).to_numpy())
