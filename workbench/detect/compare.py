"""Detection runs side by side on the same test images: mAP@0.5 and COCO mAP with bootstrap intervals over the
images, and each run's paired difference from the first run (the same resampled images score both), with a verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from workbench.detect.data import detection_task
from workbench.detect.evaluate import INTERVAL_RESAMPLES, load_detection_evaluation, load_predictions
from workbench.detect.map import detection_metrics, map_interval, paired_difference
from workbench.errors import WorkbenchError
from workbench.evaluate.dataset_check import recorded_images
from workbench.run import Run

KEYS = {"map_50": "mAP@0.5", "map": "COCO mAP"}


@dataclass(frozen=True)
class Difference:
    """Run `run`'s `metric` minus run `base`'s on the same test images, with its paired-bootstrap 95% interval."""

    run: str
    base: str
    metric: str
    value: float
    low: float
    high: float

    def says(self) -> str:
        """The difference in words: which run scores higher, or that the interval holds 0."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return (f"{self.run} minus {self.base} on {self.metric}: {self.value:+.3f}, without an interval (too few "
                    "test images to resample): no verdict.")
        shown = f"{self.value:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"
        if self.low > 0 or self.high < 0:
            side = "higher" if self.low > 0 else "lower"
            return f"{self.run} scores {side} than {self.base} on {self.metric}: {shown}."
        return f"{self.run} and {self.base} do not differ clearly on {self.metric}: {shown} holds 0."


@dataclass(frozen=True)
class DetectorComparison:
    """The table (one row per run) and each run's differences from the first run, on `images` shared test images."""

    table: pd.DataFrame
    differences: list[Difference]
    images: int

    @property
    def verdict(self) -> str:
        """Every difference in words, mAP@0.5 first."""
        return " ".join(d.says() for d in self.differences)


def compare_detectors(runs: list[Run], split: str = "test", *, resamples: int = INTERVAL_RESAMPLES) -> pd.DataFrame:
    """One row per run (run, detector, method, backbone, seed, images; per metric its value, 95% interval and the
    paired difference from the first run with its interval), on the test images all the runs share."""
    return detector_comparison(runs, split, resamples=resamples).table


def detector_comparison(runs: list[Run], split: str = "test", *,
                        resamples: int = INTERVAL_RESAMPLES) -> DetectorComparison:
    """compare_detectors' table with the differences behind it, as numbers and in words."""
    if not runs:
        raise WorkbenchError("Pick detection runs to compare.")
    for run in runs:
        if not run.is_detector:
            raise WorkbenchError(f"{run.name!r} is not a detection run.")
        if load_detection_evaluation(run, split) is None:
            raise WorkbenchError(f"Evaluate {run.name!r} first (workbench evaluate {run.name}).")
    first = runs[0].config
    task = detection_task(runs[0].ws.store, first.dataset, first.grouping, first.split_seed)
    ids = _shared_images(runs, split)
    truths = task.truths(ids)
    preds = [load_predictions(r, ids, task.classes, split) for r in runs]
    rows, differences = [], []
    for run, p in zip(runs, preds):
        cfg = run.config
        m = detection_metrics(p, truths)
        row = {"run": run.name, "detector": cfg.detect.detector, "method": cfg.method, "backbone": cfg.backbone,
               "seed": cfg.seed, "images": len(ids)}
        saved = load_detection_evaluation(run, split)
        for key, name in KEYS.items():
            # its evaluation's interval when that was taken on these same images (no image left out) the same way
            same = saved.n == len(ids) and saved.resamples == resamples and key in saved.intervals
            lo, hi = ([math.nan if v is None else v for v in saved.intervals[key]] if same  # saved NaN is null
                      else map_interval(p, truths, key, resamples=resamples))
            row[name], row[f"{name} 95% CI"] = round(m[key], 4), f"[{lo:.3f}, {hi:.3f}]"
            if p is not preds[0]:
                d, dlo, dhi = paired_difference(p, preds[0], truths, key, resamples=resamples)
                row[f"Δ {name} vs {runs[0].name}"] = f"{d:+.3f} [{dlo:+.3f}, {dhi:+.3f}]"
                differences.append(Difference(run.name, runs[0].name, name, d, dlo, dhi))
        rows.append(row)
    return DetectorComparison(pd.DataFrame(rows), differences, len(ids))


def _shared_images(runs: list[Run], split: str) -> list[int]:
    if len({(r.config.dataset, r.config.split_seed, str(r.config.grouping)) for r in runs}) > 1:
        raise WorkbenchError("Compare runs trained on the same dataset, split seed and grouping: only then do they "
                             "share their test images.")
    shared = None
    for run in runs:
        _, images = recorded_images(run)
        ids = set(images.loc[images["split"] == split, "image_id"].astype(int))
        shared = ids if shared is None else shared & ids
    if not shared:
        raise WorkbenchError(f"The runs share no {split} images.")
    return sorted(shared)
