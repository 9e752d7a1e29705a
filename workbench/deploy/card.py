"""The model card: what someone without Workbench needs to feed an exported model and read its outputs."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import asdict

from workbench.train.data import IMAGENET_MEAN, IMAGENET_STD
from workbench.train.runs import LoadedRun

SPLITS = ("train", "val", "test")


def model_card(loaded: LoadedRun, fmt: str, model_file: str, checkpoint: str = "best") -> dict:
    """Card for `loaded` (its `checkpoint`: best or last) exported as `fmt` to `model_file` (relative to the card)."""
    cfg, size = loaded.config, loaded.config.input_size
    return {
        "run": cfg.name,
        "checkpoint": checkpoint,
        "format": fmt,
        "file": model_file,
        "exported_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "classes": list(loaded.classes),
        "input": {"name": "input", "shape": ["batch", 3, size, size], "dtype": "float32", "layout": "NCHW",
                  "size": size, "channels": loaded.channels},
        "outputs": {"logits": "raw scores, (batch, classes)",
                    "probabilities": "softmax of the logits, (batch, classes), in the order of `classes`"},
        "normalisation": normalisation(cfg.augment.normalize),
        "preprocessing": preprocessing_steps(size, loaded.channels, cfg.augment.normalize),
        "threshold": stored_threshold(loaded, checkpoint),
        "training_data": training_data(loaded.dataset_info),
        "backbone": cfg.backbone,
        "method": cfg.method,
        "weights": cfg.weights,
        "training": {"epochs": cfg.epochs, "seed": cfg.seed, "optimizer": cfg.optimizer, "lr": cfg.lr,
                     **_training_summary(loaded)},
        "metrics": metrics(loaded),
    }


def normalisation(normalize: bool) -> dict | None:
    """Per-channel mean/std applied after scaling pixels to [0, 1] (None: the run fed unnormalised pixels)."""
    return {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)} if normalize else None


def preprocessing_steps(size: int, channels: int, normalize: bool) -> list[str]:
    """The eval transform of workbench.train.data in words, step by step."""
    steps = ["decode the image, apply its EXIF rotation, flatten any alpha channel on white",
             "convert to 8-bit RGB" if channels == 3 else
             "convert to 8-bit grayscale (PIL mode 'L'; the model was trained on grayscale images)",
             f"resize to {size}x{size} pixels with bilinear interpolation (PIL Image.BILINEAR), ignoring aspect ratio",
             "scale pixel values to [0, 1] (divide by 255) as float32"]
    if channels == 1:
        steps.append("repeat the single channel three times")
    if normalize:
        steps.append("subtract `normalisation.mean` and divide by `normalisation.std`, per channel (R, G, B)")
    steps.append("lay out as (batch, 3, height, width)")
    return steps


def stored_threshold(loaded: LoadedRun, checkpoint: str) -> dict | None:
    """The operating point stored for this checkpoint (checkpoints/<run>/threshold.json, not stale), with the
    positive class's index; None when none was chosen: a card never carries another checkpoint's threshold."""
    t = loaded.run.threshold
    if t is None or t.checkpoint != checkpoint or t.positive not in loaded.classes:
        return None
    return {**asdict(t), "positive_index": loaded.classes.index(t.positive)}


def training_data(info: dict) -> dict:
    """Dataset name, classes, images per class and per split, from the run's dataset.json."""
    images = info.get("images", [])
    per_split = {s: Counter(i["label"] for i in images if i["split"] == s) for s in SPLITS}
    return {"dataset": info.get("dataset"), "dataset_classes": info.get("dataset_classes"),
            "grouping": info.get("grouping"), "split_seed": info.get("seed"),
            "images": len(images), "per_class": dict(Counter(i["label"] for i in images)),
            "split_sizes": {s: sum(c.values()) for s, c in per_split.items()},
            "per_split_per_class": {s: dict(c) for s, c in per_split.items()}}


def metrics(loaded: LoadedRun) -> dict | None:
    """Saved test evaluation if the run has one, else the best epoch's validation metrics."""
    run = loaded.run
    e = run.evaluation("test")
    if e is not None:
        return _finite({"split": "test", "checkpoint": e.checkpoint, "n": e.n, **e.metrics})
    hist = run.history
    val = hist[(hist.split == "val") & (hist.epoch == run.best_epoch)] if len(hist) else hist
    if not len(val):
        return None
    row = val.iloc[-1].drop(labels=["split", "lr", "seconds"], errors="ignore").to_dict()
    return _finite({"split": "val", "checkpoint": "best", **row})


def _training_summary(loaded: LoadedRun) -> dict:
    """How training ended (completed, ..., interrupted) and its best epoch, the one exported."""
    run = loaded.run
    return {"best_epoch": run.best_epoch, "best_val_loss": run.best_val_loss, "status": run.status}


def _finite(obj):
    """NaN/inf -> None, numpy scalars -> Python, recursively: JSON any reader accepts."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    obj = obj.item() if hasattr(obj, "item") else obj
    return None if isinstance(obj, float) and not math.isfinite(obj) else obj
