"""A binary run's decision threshold on P(positive class): chosen on its validation split by a rule (eer, fpr=R,
fnr=R), kept by the run (checkpoints/<run>/threshold.json), applied to predictions beside argmax."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.evaluate.dataset_check import split_images
from workbench.evaluate.records import Threshold
from workbench.metrics import decision_metrics, operating_threshold, parse_rule, threshold_metrics
from workbench.run import Run
from workbench.train.predict import predict
from workbench.train.runs import LoadedRun, load_run

DEFAULT_RULE = "eer"
__all__ = ["DEFAULT_RULE", "Threshold", "check_rule", "choose_threshold", "operating_point", "run_threshold"]


def choose_threshold(run: Run, rule: str = DEFAULT_RULE, which: str = "best",
                     loaded: LoadedRun | None = None) -> Threshold:
    """Predict the run's validation images, pick the threshold by `rule` (eer, fpr=R, fnr=R) and store it."""
    rule = check_rule(rule)  # a typo fails before any prediction
    loaded = loaded or load_run(run, which)
    if len(loaded.classes) != 2:
        raise WorkbenchError(f"Run {run.name!r} has {len(loaded.classes)} classes: a decision threshold is for binary "
                             "runs (multi-class runs decide by the most probable class).")
    part, _ = split_images(loaded, run.ws.store, "val")
    y = part["y"].to_numpy()
    if len(set(y.tolist())) < 2:
        raise WorkbenchError(f"Run {run.name!r}: its {len(y)} validation images are all one class, so no threshold "
                             "can be chosen on them (label more images of the other class and retrain).")
    p1 = predict(loaded, part["path"].tolist())[:, 1]
    try:
        t = operating_threshold(y, p1, rule)
    except ValueError as e:
        raise WorkbenchError(str(e)) from None
    at = threshold_metrics(y, p1, t)
    result = Threshold(run=run.name, rule=rule, threshold=t, positive=loaded.classes[1], split="val", n=len(y),
                       fpr=at["fpr"], fnr=at["fnr"], checkpoint=which)
    run.save_threshold(result)
    return result


def check_rule(rule: str) -> str:
    """The rule normalised ('FPR = 0.01' -> 'fpr=0.01'); a WorkbenchError saying what is accepted otherwise."""
    try:
        kind, target = parse_rule(rule)
    except ValueError as e:
        raise WorkbenchError(str(e)) from None
    return kind if target is None else f"{kind}={target:g}"


def run_threshold(run: Run, which: str = "best", loaded: LoadedRun | None = None) -> Threshold:
    """The run's stored threshold; chosen now (by the stored rule, else at the EER) if there is none for the
    `which` checkpoint or that checkpoint is newer than it."""
    t = run.threshold
    if t is not None and t.checkpoint == which:
        return t
    previous = run.saved_threshold()
    return choose_threshold(run, previous.rule if previous else DEFAULT_RULE, which, loaded)


def operating_point(preds: pd.DataFrame, t: Threshold) -> dict:
    """Metrics of saved binary predictions (y_true, p_0, p_1) at argmax and at the threshold, for reports."""
    y = preds["y_true"].to_numpy().astype(int)
    return {**asdict(t), "at_threshold": threshold_metrics(y, preds["p_1"].to_numpy(dtype=float), t.threshold),
            "at_argmax": decision_metrics(y, preds["y_pred"].to_numpy())}

