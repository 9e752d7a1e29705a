"""Detection runs side by side on the same test images: mAP@0.5 and COCO mAP with bootstrap intervals over the
images, and each run's paired difference from the first run (the same resampled images score both)."""

from __future__ import annotations

import pandas as pd

from workbench.detect.data import detection_task
from workbench.detect.evaluate import INTERVAL_RESAMPLES, load_detection_evaluation, load_predictions
from workbench.detect.map import detection_metrics, map_interval, paired_difference
from workbench.errors import WorkbenchError
from workbench.evaluate.dataset_check import recorded_images
from workbench.run import Run

KEYS = {"map_50": "mAP@0.5", "map": "COCO mAP"}


def compare_detectors(runs: list[Run], split: str = "test", *, resamples: int = INTERVAL_RESAMPLES) -> pd.DataFrame:
    """One row per run (run, detector, method, backbone, seed, images; per metric its value, 95% interval and the
    paired difference from the first run with its interval), on the test images all the runs share."""
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
    rows = []
    for run, p in zip(runs, preds):
        cfg = run.config
        m = detection_metrics(p, truths)
        row = {"run": run.name, "detector": cfg.detect.detector, "method": cfg.method, "backbone": cfg.backbone,
               "seed": cfg.seed, "images": len(ids)}
        for key, name in KEYS.items():
            lo, hi = map_interval(p, truths, key, resamples=resamples)
            row[name], row[f"{name} 95% CI"] = round(m[key], 4), f"[{lo:.3f}, {hi:.3f}]"
            if p is not preds[0]:
                d, dlo, dhi = paired_difference(p, preds[0], truths, key, resamples=resamples)
                row[f"Δ {name} vs {runs[0].name}"] = f"{d:+.3f} [{dlo:+.3f}, {dhi:+.3f}]"
        rows.append(row)
    return pd.DataFrame(rows)


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
