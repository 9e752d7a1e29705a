"""Intervals over seeds and paired tests between two methods: pure functions, arrays in, numbers out (scipy.stats).

One value per seed: a method's test accuracy over seeds gets a t-interval; two methods measured on the same images
per seed (a paired design) get the mean of their per-seed differences with its t-interval, the paired t-test's
p-value, and from `WILCOXON_FROM` seeds on the Wilcoxon signed-rank test's (below that it cannot reach p < 0.05).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import

# scipy is imported when an interval is first computed: pages and reports that read a saved comparison compute none
stats = lazy_import("scipy.stats")

CONFIDENCE = 0.95
# two-sided signed-rank test: its smallest p-value over 5 pairs is 2/2^5 = 0.0625, so it needs 6 seeds to say anything
WILCOXON_FROM = 6


@dataclass(frozen=True)
class Interval:
    """The mean of `n` values and its t-interval (NaN ends with fewer than 2 values)."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float = CONFIDENCE

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))


@dataclass(frozen=True)
class PairedDifference:
    """a − b over `n` pairs: mean difference with its t-interval, paired t-test p, Wilcoxon p (None below 6 pairs)."""

    mean: float
    low: float
    high: float
    n: int
    p_t: float
    p_wilcoxon: float | None
    confidence: float = CONFIDENCE

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))

    @property
    def spread(self) -> bool:
        """Whether the differences vary between pairs (with none, there is no interval and no test)."""
        return self.has_interval and self.high > self.low

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly on one side of 0: a difference the data supports at this confidence."""
        return self.has_interval and (self.low > 0 or self.high < 0)


def t_interval(values: ArrayLike, confidence: float = CONFIDENCE) -> Interval:
    """Mean and Student-t interval of the values (NaNs dropped); with no spread the interval is the mean itself."""
    x = _values(values, "values")
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, confidence)
    if _no_spread(x):
        return Interval(mean, mean, mean, n, confidence)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=float(stats.sem(x)))
    return Interval(mean, float(low), float(high), n, confidence)


def paired_difference(a: ArrayLike, b: ArrayLike, confidence: float = CONFIDENCE) -> PairedDifference:
    """a − b paired element by element (pairs with a NaN dropped): mean, t-interval, paired t p, Wilcoxon p."""
    a, b = _values(a, "a"), _values(b, "b")
    if a.shape != b.shape:
        raise WorkbenchError(f"Paired values need one b for each a; got {len(a)} and {len(b)}.")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    d = a - b
    ci = t_interval(d, confidence)
    p_t = math.nan
    if len(d) >= 2 and not _no_spread(d):  # with no spread the t statistic is undefined
        p_t = float(stats.ttest_rel(a, b).pvalue)
    p_w = None
    if len(d) >= WILCOXON_FROM:
        p_w = float(stats.wilcoxon(a, b).pvalue) if np.any(d != 0) else 1.0
    return PairedDifference(ci.mean, ci.low, ci.high, ci.n, p_t, p_w, confidence)


def _no_spread(x: np.ndarray) -> bool:
    """All values equal, up to rounding (0.5 − 0.8 and 0.6 − 0.9 differ in their last bit)."""
    return bool(np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())))


def _values(x: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise WorkbenchError(f"{name} must be one value per seed (1-D), got shape {arr.shape}.")
    return arr
