"""A binary run's operating point: the decision threshold on P(positive class) chosen on its validation split,
stored as checkpoints/<run>/threshold.json, and test metrics at that threshold beside those at argmax."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.atomic import write_json
from workbench.errors import WorkbenchError
from workbench.metrics import decision_metrics, operating_threshold, parse_rule, threshold_metrics

if TYPE_CHECKING:  # annotations only: importing these at run time would cycle or cost start-up
    from workbench.train.runs import LoadedRun
    from workbench.workspace import Workspace

DEFAULT_RULE = "eer"


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


def threshold_path(ws: Workspace, run: str) -> Path:
    """checkpoints/<run>/threshold.json."""
    from workbench.train.runs import run_dir

    return run_dir(ws, run) / "threshold.json"


def choose_threshold(ws: Workspace, run: str, rule: str = DEFAULT_RULE, which: str = "best",
                     loaded: LoadedRun | None = None) -> Threshold:
    """Predict the run's validation images, pick the threshold by `rule` (eer, fpr=R, fnr=R) and store it."""
    from workbench.evaluate.evaluate import split_images
    from workbench.train.predict import predict
    from workbench.train.runs import load_run

    rule = check_rule(rule)  # a typo fails before any prediction
    loaded = loaded or load_run(ws, run, which)
    if len(loaded.classes) != 2:
        raise WorkbenchError(f"Run {run!r} has {len(loaded.classes)} classes: a decision threshold is for binary runs "
                             "(multi-class runs decide by the most probable class).")
    part, _ = split_images(loaded, ws.store, "val")
    y = part["y"].to_numpy()
    if len(set(y.tolist())) < 2:
        raise WorkbenchError(f"Run {run!r}: its {len(y)} validation images are all one class, so no threshold can be "
                             "chosen on them (label more images of the other class and retrain).")
    p1 = predict(loaded, part["path"].tolist())[:, 1]
    try:
        t = operating_threshold(y, p1, rule)
    except ValueError as e:
        raise WorkbenchError(str(e)) from None
    at = threshold_metrics(y, p1, t)
    result = Threshold(run=run, rule=rule, threshold=t,
                       positive=loaded.classes[1], split="val", n=len(y), fpr=at["fpr"], fnr=at["fnr"],
                       checkpoint=which)
    save_threshold(ws, result)
    return result


def check_rule(rule: str) -> str:
    """The rule normalised ('FPR = 0.01' -> 'fpr=0.01'); a WorkbenchError saying what is accepted otherwise."""
    try:
        kind, target = parse_rule(rule)
    except ValueError as e:
        raise WorkbenchError(str(e)) from None
    return kind if target is None else f"{kind}={target:g}"


def save_threshold(ws: Workspace, t: Threshold) -> Path:
    """Write threshold.json atomically: a reader sees the old file or the new one, never half of one."""
    return write_json(threshold_path(ws, t.run), asdict(t))


def load_threshold(ws: Workspace, run: str) -> Threshold | None:
    """The stored threshold, or None if none was chosen or the checkpoint is newer than it (retrained)."""
    t = _read(ws, run)
    if t is None:
        return None
    ckpt = threshold_path(ws, run).parent / f"{t.checkpoint}.pt"
    if ckpt.exists() and ckpt.stat().st_mtime_ns > threshold_path(ws, run).stat().st_mtime_ns:
        return None
    return t


def _read(ws: Workspace, run: str) -> Threshold | None:
    path = threshold_path(ws, run)
    try:
        return Threshold(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        return None  # unreadable: choose again rather than fail


def run_threshold(ws: Workspace, run: str, which: str = "best",
                  loaded: LoadedRun | None = None) -> Threshold:
    """The run's stored threshold; chosen now (by the stored rule, else at the EER) if there is none for the
    `which` checkpoint or that checkpoint is newer than it."""
    t = load_threshold(ws, run)
    if t is not None and t.checkpoint == which:
        return t
    previous = _read(ws, run)
    return choose_threshold(ws, run, previous.rule if previous else DEFAULT_RULE, which, loaded)


def operating_point(preds: pd.DataFrame, t: Threshold) -> dict:
    """Metrics of saved binary predictions (y_true, p_0, p_1) at argmax and at the threshold, for reports."""
    y = preds["y_true"].to_numpy().astype(int)
    return {**asdict(t), "at_threshold": threshold_metrics(y, preds["p_1"].to_numpy(dtype=float), t.threshold),
            "at_argmax": decision_metrics(y, preds["y_pred"].to_numpy())}


def current_operating_point(ws: Workspace, run: str, split: str = "test") -> dict | None:
    """The run's stored threshold applied to its saved `split` predictions (no model run); None if either is missing
    or the run is not binary."""
    from workbench.evaluate.evaluate import load_predictions

    t, preds = load_threshold(ws, run), load_predictions(ws, run, split)
    if t is None or preds is None or "p_1" not in preds or "p_2" in preds:
        return None
    return operating_point(preds, t)


def set_threshold_rule(ws: Workspace, run: str, rule: str, split: str = "test") -> dict:
    """Choose the threshold by `rule` on validation and report it on the saved `split` evaluation (evaluating if
    needed); the saved evaluation's operating point is updated to match."""
    from workbench.evaluate.evaluate import load_evaluation, save_evaluation
    from workbench.evaluate.staleness import run_predictions

    t = choose_threshold(ws, run, rule)
    preds, _ = run_predictions(ws, run, split)  # evaluates first when missing or stale
    op = operating_point(preds, t)
    ev = load_evaluation(ws, run, split)
    if ev is not None:
        ev.operating_point = op
        save_evaluation(ws, ev)
    return op
