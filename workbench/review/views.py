"""What the Evaluate tab (and the gallery bench) show, assembled from the core: a run's predictions,
its error gallery page with CAM thumbnails, and loaded models kept for reuse."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import pandas as pd

from workbench import paths
from workbench.errors import WorkbenchError
from workbench.review.categories import categories, category_table, errors_in
from workbench.review.gallery import GalleryPage, gallery_page

log = logging.getLogger(__name__)


class RunCache:
    """The last few loaded runs (model + transform), reloaded when their checkpoint file changes."""

    def __init__(self, size: int = 2):
        self.size, self._runs, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, run: str, which: str = "best"):
        from workbench.train.runs import load_run, run_dir

        ckpt = run_dir(run) / f"{which}.pt"
        key = (run, which, ckpt.stat().st_mtime_ns if ckpt.exists() else 0)
        with self._lock:
            if key not in self._runs:
                self._runs[key] = load_run(run, which)
                while len(self._runs) > self.size:
                    self._runs.popitem(last=False)
            self._runs.move_to_end(key)
            return self._runs[key]


def run_predictions(run: str, store, split: str = "test") -> tuple[pd.DataFrame, list[str]]:
    """Saved predictions of the run's best checkpoint on `split`, evaluating again if missing or stale
    (checkpoint newer than the evaluation, or labels of its images changed since)."""
    from workbench.evaluate import evaluate_run, load_evaluation, load_predictions
    from workbench.evaluate.evaluate import evaluation_path
    from workbench.train.runs import load_config, run_dir

    ev_file, ckpt = evaluation_path(run, split), run_dir(run) / "best.pt"
    ev = load_evaluation(run, split)
    preds = load_predictions(run, split)
    stale = ev is None or preds is None or (ckpt.exists() and ckpt.stat().st_mtime_ns > ev_file.stat().st_mtime_ns)
    if not stale:  # labels corrected since? (resolved labels only: cheaper than the full split table)
        cfg = load_config(run)
        labels = store.resolved_labels(cfg.dataset)
        if cfg.grouping:
            labels = labels.map(cfg.grouping)
        now = labels.map({c: i for i, c in enumerate(ev.classes)}).reindex(preds["image_id"])
        stale = bool(now.isna().any()) or (now.to_numpy() != preds["y_true"].to_numpy()).any()
    if stale:
        ev = evaluate_run(run, store, split)
        preds = load_predictions(run, split)
    return preds, list(ev.classes)


@dataclass
class ErrorView:
    """One gallery page of errors in a category, the per-category table, and the categories to pick from."""

    page: GalleryPage
    table: pd.DataFrame
    categories: list[str] = field(default_factory=list)
    cam_note: str = ""  # which layer the CAM thumbnails use, or why they are missing


def error_view(store, run: str, grouping: str, category: str | None = None, page: int = 0, page_size: int = 48,
               split: str = "test", cam_method: str | None = None, layer: str | None = None,
               runs: RunCache | None = None) -> ErrorView:
    """Errors of `run` in `category` of `grouping` (all errors if None); thumbnails are CAM overlays of the
    predicted class when `cam_method` is given, computed only for the visible page and cached on disk."""
    from workbench.train.runs import load_config

    preds, classes = run_predictions(run, store, split)
    cats = categories(grouping, preds, classes, store, load_config(run).dataset)
    table = category_table(preds, cats)
    names = [c for c in table["category"].tolist() if c != "all images"]
    rows = errors_in(preds, cats, category or None)
    cams = _CamThumbs(runs or RunCache(), run, cam_method, layer) if cam_method else None
    page_view = gallery_page(rows, classes, page, page_size, cams)
    return ErrorView(page_view, table, names, cams.note if cams and not page_view.empty else "")


def cell_category(classes, true_index: int, pred_index: int) -> str:
    """The confusion grouping's category of one matrix cell (see review.categories.confusion_categories)."""
    return f"{classes[true_index]} → {classes[pred_index]}"


class _CamThumbs:
    """CAM overlays for a gallery page; when they cannot be made, the plain images and the reason instead,
    so the gallery and the category table still show."""

    def __init__(self, runs: RunCache, run: str, method: str, layer: str | None):
        self.runs, self.run, self.method, self.layer, self.note = runs, run, method, layer, ""

    def __call__(self, rows: pd.DataFrame) -> list[str]:
        from workbench.explain import LABELS, run_layer
        from workbench.explain.cache import cache_dir, cam_overlay_files

        try:
            loaded = self.runs.get(self.run)
            used = run_layer(loaded, self.layer)
            folder = cache_dir(loaded.run_dir, paths.plots_dir() / self.run, self.method, self.layer)
            files = cam_overlay_files(loaded, rows["image_id"].tolist(), rows["path"].tolist(),
                                      rows["y_pred"].tolist(), folder, self.method, self.layer)
        except Exception as e:  # noqa: BLE001 (any failure: a CAM is an extra, the errors still show)
            log.warning("CAM thumbnails of %s failed: %s", self.run, e, exc_info=not isinstance(e, WorkbenchError))
            self.note = f"Showing images without CAM overlays: {e}"
            return rows["path"].tolist()
        self.note = f"{LABELS.get(self.method, self.method)} of the predicted class at {used.describe()}."
        return files


@dataclass
class CompareView:
    """Two runs on their shared test images: outcome counts per category, and the images of one outcome."""

    table: pd.DataFrame
    shown: pd.DataFrame  # image_id, path, ... of the images with the picked outcome


def compare_view(store, run_a: str, run_b: str, grouping: str, outcome: str = "only A wrong") -> CompareView:
    """Which test images each run gets wrong, per category of `grouping` (of run A's dataset)."""
    from workbench.review.compare import compare_by_category, compare_runs
    from workbench.train.runs import load_config

    preds_a, classes = run_predictions(run_a, store)
    preds_b, _ = run_predictions(run_b, store)
    comparison = compare_runs(preds_a, preds_b)
    cats = categories(grouping, preds_a, classes, store, load_config(run_a).dataset)
    return CompareView(compare_by_category(comparison, cats), comparison[comparison["outcome"] == outcome])


def metrics_table(metrics: dict) -> pd.DataFrame:
    """Metrics as a two-column table in a fixed, readable order."""
    order = ["n", "accuracy", "precision", "recall", "f1", "roc_auc", "eer", "eer_threshold", "loss"]
    names = {"n": "images", "f1": "F1 (macro)", "precision": "precision (macro)", "recall": "recall (macro)",
             "roc_auc": "ROC AUC", "eer": "EER", "eer_threshold": "EER threshold", "loss": "log loss"}
    rows = [(names.get(k, k), metrics.get(k)) for k in order if k in metrics]
    return pd.DataFrame({"metric": [r[0] for r in rows],
                         "value": ["n/a" if v is None or v != v else (f"{v:.4f}" if isinstance(v, float) else str(v))
                                   for _, v in rows]})


@dataclass
class CamView:
    """One image explained: its upscaled original, the overlay, and what the model said."""

    original: object
    overlay: object
    caption: str


def cam_view(loaded, store, image_id: int, class_name: str | None = None, method: str = "gradcam",
             layer: str | None = None, size: int = 320) -> CamView:
    """The CAM of `class_name` (default: the predicted class) for one image of the run's dataset."""
    import numpy as np
    from PIL import Image

    from workbench.data.imageio import load_image
    from workbench.explain import explain_images, overlay, run_layer
    from workbench.train.predict import predict

    info = store.image(int(image_id))
    if info["dataset"] != loaded.config.dataset:
        raise WorkbenchError(f"Image {image_id} belongs to {info['dataset']!r}, the run to {loaded.config.dataset!r}.")
    image = load_image(info["path"])
    probs = predict(loaded, [image])[0]
    pred = int(np.argmax(probs))
    if class_name and class_name not in loaded.classes:
        raise WorkbenchError(f"Class {class_name!r} is not one of the run's classes {loaded.classes}.")
    target = loaded.classes.index(class_name) if class_name else pred
    cam = explain_images(loaded, [image], [target], method, layer)[0]
    w, h = image.size
    scale = size / max(w, h)
    original = image.convert("RGB").resize((round(w * scale), round(h * scale)), Image.NEAREST)
    label = store.resolved_labels(loaded.config.dataset).get(int(image_id))
    caption = (f"Image {image_id} · label: {label or 'none'} · predicted: {loaded.classes[pred]} ({probs[pred]:.1%})"
               f" · CAM of '{loaded.classes[target]}' ({method}, {run_layer(loaded, layer).describe()})")
    return CamView(original, overlay(image, cam, size), caption)
