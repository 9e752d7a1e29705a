"""A binary run's operating point as the Evaluate tab shows it: the stored threshold on the saved test predictions,
or a threshold chosen now by a new rule and reported on the (brought up to date) saved evaluation."""

from __future__ import annotations

from workbench.evaluate.staleness import run_predictions
from workbench.evaluate.threshold import choose_threshold, operating_point
from workbench.run import Run


def has_threshold(run: Run) -> bool:
    """Whether the run decides by a threshold on P(positive class): binary runs only (others take the argmax)."""
    return len(run.classes) == 2


def current_operating_point(run: Run, split: str = "test") -> dict | None:
    """The run's stored threshold applied to its saved `split` predictions (no model run); None if either is missing
    or the run is not binary."""
    t, preds = run.threshold, run.predictions(split)
    if t is None or preds is None or "p_1" not in preds or "p_2" in preds:
        return None
    return operating_point(preds, t)


def set_threshold_rule(run: Run, rule: str, split: str = "test") -> dict:
    """Choose the threshold by `rule` on validation and report it on the saved `split` evaluation (evaluating if
    needed); the saved evaluation's operating point is updated to match."""
    t = choose_threshold(run, rule)
    preds, _ = run_predictions(run, split)  # evaluates first when missing or stale
    op = operating_point(preds, t)
    ev = run.evaluation(split)
    if ev is not None:
        ev.operating_point = op
        run.save_evaluation(ev)
    return op
