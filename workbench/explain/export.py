"""CAM overlays of chosen images of a run written as PNG files (what `workbench explain` does)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from workbench.atomic import atomic_path
from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.explain.cam import explain_images, overlay, run_layer
from workbench.explain.layers import ChosenLayer
from workbench.explain.methods import method_class
from workbench.store import Store
from workbench.train.predict import predict
from workbench.train.runs import LoadedRun


@dataclass
class WrittenOverlays:
    """The layer the CAMs hooked and one PNG per image, in the order asked."""

    layer: ChosenLayer
    files: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)


def write_overlays(loaded: LoadedRun, store: Store, image_ids: Sequence[int], out_dir: Path,
                   class_name: str | None = None, method: str = "gradcam", layer: str | None = None,
                   size: int = 192) -> WrittenOverlays:
    """Overlay of the CAM of `class_name` (default: each image's predicted class) for each image, in `out_dir`.
    Everything is checked before anything is written."""
    method_class(method)
    if class_name is not None and class_name not in loaded.classes:
        raise WorkbenchError(f"Class {class_name!r} is not one of the run's classes: {', '.join(loaded.classes)}.")
    used = run_layer(loaded, layer)
    infos = [_image_of_run(store, loaded, i) for i in image_ids]
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise WorkbenchError(f"{out_dir} exists and is not a folder.")
    images = [load_image(info["path"]) for info in infos]
    probs = predict(loaded, images)
    preds = np.argmax(probs, axis=1)
    targets = [loaded.classes.index(class_name) if class_name else int(p) for p in preds]
    maps = explain_images(loaded, images, targets, method, layer)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = WrittenOverlays(used)
    for info, image, cam, t, p, pr in zip(infos, images, maps, targets, preds, probs):
        path = out_dir / f"{info['image_id']}-{_method_slug(method)}-{_slug(loaded.classes[t])}.png"
        with atomic_path(path) as tmp:
            overlay(image, cam, size).save(tmp)
        result.files.append(str(path))
        result.captions.append(f"image {info['image_id']}: predicted {loaded.classes[p]} ({pr[p]:.0%}), "
                               f"CAM of '{loaded.classes[t]}'")
    return result


def _image_of_run(store, loaded, image_id) -> dict:
    try:
        info = store.image(int(image_id))
    except (TypeError, ValueError):
        raise WorkbenchError(f"Image id must be a number, got {image_id!r}.") from None
    if info["dataset"] != loaded.config.dataset:
        raise WorkbenchError(f"Image {image_id} belongs to dataset {info['dataset']!r}; "
                             f"run {loaded.run_dir.name!r} was trained on {loaded.config.dataset!r}.")
    return {**info, "image_id": int(image_id)}


def _method_slug(method: str) -> str:
    return method.strip().lower().replace("+", "p").replace("-", "").replace(" ", "")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "class"
