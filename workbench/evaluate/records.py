"""What evaluating a run leaves beside it: the evaluation and the decision threshold, as records.

Plain dataclasses with numpy at most: the run handle (`workbench.run.Run`) reads and writes them, the evaluation
and threshold modules fill them, the report formats them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np


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


@dataclass
class Threshold:
    """Decide `positive` when P(positive) >= threshold; chosen by `rule` on `n` images of `split`."""

    run: str
    rule: str
    threshold: float
    positive: str
    split: str
    n: int
    fpr: float  # on the split it was chosen on
    fnr: float
    checkpoint: str = "best"

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Class indices (0/1) of (N, 2) probabilities at this threshold."""
        return (np.asarray(probs, dtype=float)[:, 1] >= self.threshold).astype(int)

    def describe(self) -> str:
        """One line: the rule, where it was chosen and its error rates there."""
        return (f"P({self.positive}) >= {self.threshold:.4f} ({self.rule} on {self.n} {self.split} images: "
                f"FPR {self.fpr:.3f}, FNR {self.fnr:.3f})")


def json_safe(obj):
    """`obj` with NaN and inf as None and numpy scalars as Python numbers, recursively: JSON any reader accepts."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    return obj
