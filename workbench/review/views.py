"""What the Evaluate tab (and the gallery bench) show, assembled from the core: a page of a run's errors with the
per-category table, two runs compared, one image explained. Each view only gathers; the core computes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from PIL import Image

from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.evaluate.staleness import run_predictions
from workbench.explain.cam import explain_images, overlay, run_layer
from workbench.review.cam_thumbs import CamThumbs
from workbench.review.compare import compare_by_category, compare_runs
from workbench.review.gallery import GalleryPage, gallery_page
from workbench.review.run_cache import RunCache
from workbench.review.run_errors import run_categories, run_errors
from workbench.run import Run
from workbench.store import Store
from workbench.train.predict import predict
from workbench.train.runs import LoadedRun


@dataclass
class ErrorView:
    """One gallery page of errors in a category, the per-category table, and the categories to pick from."""

    page: GalleryPage
    table: pd.DataFrame
    categories: list[str] = field(default_factory=list)
    cam_note: str = ""  # which layer the CAM thumbnails use, or why they are missing


def error_view(run: Run, grouping: str, category: str | None = None, page: int = 0, page_size: int = 48,
               split: str = "test", cam_method: str | None = None, layer: str | None = None,
               runs: RunCache | None = None) -> ErrorView:
    """Errors of `run` in `category` of `grouping` (all errors if None); thumbnails are CAM overlays of the
    predicted class when `cam_method` is given, computed only for the visible page and cached on disk."""
    errors = run_errors(run, grouping, split)
    cams = CamThumbs(runs or RunCache(), run, cam_method, layer) if cam_method else None
    page_view = gallery_page(errors.errors(category), errors.classes, page, page_size, cams)
    return ErrorView(page_view, errors.table, errors.category_names, cams.note if cams and not page_view.empty else "")


@dataclass
class CompareView:
    """Two runs on their shared test images: outcome counts per category, and the images of one outcome."""

    table: pd.DataFrame
    shown: pd.DataFrame  # image_id, path, y_true, pred_a, pred_b, conf_a, conf_b of the images with the picked outcome
    classes: list[str] = field(default_factory=list)

    def tiles(self) -> list[tuple[int, str, str]]:
        """(image id, path, caption) of the shown images: '#id', its true class, what A and B predicted."""
        c = self.classes
        return [(int(r.image_id), r.path, f"#{int(r.image_id)}\ntrue: {c[int(r.y_true)]}\n"
                 f"A: {c[int(r.pred_a)]} · B: {c[int(r.pred_b)]}") for r in self.shown.itertuples(index=False)]


def compare_view(run_a: Run, run_b: Run, grouping: str, outcome: str = "only A wrong") -> CompareView:
    """Which test images each run gets wrong, per category of `grouping` (of run A's dataset)."""
    preds_a, classes = run_predictions(run_a)
    preds_b, _ = run_predictions(run_b)
    comparison = compare_runs(preds_a, preds_b)
    cats = run_categories(run_a, grouping, preds_a, classes)
    return CompareView(compare_by_category(comparison, cats), comparison[comparison["outcome"] == outcome],
                       list(classes))


@dataclass
class CamView:
    """One image explained: its upscaled original, the overlay, and what the model said."""

    original: object
    overlay: object
    caption: str


def cam_view(loaded: LoadedRun, store: Store, image_id: int, class_name: str | None = None, method: str = "gradcam",
             layer: str | None = None, size: int = 320) -> CamView:
    """The CAM of `class_name` (default: the predicted class) for one image of the run's dataset."""
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
