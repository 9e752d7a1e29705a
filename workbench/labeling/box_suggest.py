"""Suggested boxes: what a detector that already fits finds, for the annotator to accept (Enter) or correct.

Before any detector is trained on the set, OpenCV's Haar cascades suggest faces and eyes (as `import --crop` finds
them) for box classes named like "face" and "eye"; once a detector run of the set exists, its boxes above a
threshold do, one per object. Suggestions are never recorded by themselves: accepting one records it as "accepted".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from workbench.data.importers.crops import detect_eyes, detect_faces
from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.run import Run
from workbench.workspace import Workspace

# torch and the detectors: imported when a detector suggests, not when the app starts
torch = lazy_import("torch")
tv_ops = lazy_import("torchvision.ops")
detect_model = lazy_import("workbench.detect.model")

DETECT_SIDE = 1024  # photos are searched at most this big: a 3000×4000 photo takes seconds at full size
MIN_SCORE = 0.5  # a detector's boxes below this score are not suggested
SAME_OBJECT_IOU = 0.5  # boxes overlapping this much (any classes) are one object: only the best-scored is suggested


def haar_classes(classes: list[str]) -> dict[str, str]:
    """Which box class takes which cascade's finds: the first class naming "face" and the first naming "eye"."""
    out = {}
    for part in ("face", "eye"):
        match = next((c for c in classes if part in c.lower()), None)
        if match is not None and match not in out.values():
            out[part] = match
    return out


def haar_boxes(path: str, classes: list[str]) -> list[dict]:
    """Faces (and the eyes in them) in the photo at `path`, as boxes of the matching classes in image pixels;
    no confidence (a cascade gives none)."""
    parts = haar_classes(classes)
    if not parts:
        return []
    im = load_image(path).convert("L")
    scale = min(1.0, DETECT_SIDE / max(im.size))
    if scale < 1.0:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
    gray = np.asarray(im)
    out = []
    for face in detect_faces(gray):
        if "face" in parts:
            out.append(_box(parts["face"], face, scale))
        if "eye" in parts:
            out += [_box(parts["eye"], eye, scale) for eye in detect_eyes(gray, face)]
    return out


def _box(label: str, b, scale: float) -> dict:
    return {"label": label, "x": b.x / scale, "y": b.y / scale, "w": b.w / scale, "h": b.h / scale,
            "confidence": None}


@dataclass
class BoxSuggester:
    """A named source of suggested boxes: `suggest(image row, box classes)` as labeling.boxes expects."""

    name: str
    suggest: Callable[[dict, list[str]], list[dict]]


def haar_suggester(classes: list[str]) -> BoxSuggester | None:
    """Haar cascades for a set whose box classes include faces or eyes; None when they name neither."""
    parts = haar_classes(classes)
    if not parts:
        return None
    return BoxSuggester(name="OpenCV Haar cascades (" + ", ".join(parts) + ")",
                        suggest=lambda image, classes_: haar_boxes(image["path"], classes_))


def detector_boxes(loaded: Any, path: str, classes: list[str], min_score: float = MIN_SCORE) -> list[dict]:
    """A trained detector's boxes in the photo at `path` scored at least `min_score`, for the set's box classes, one
    per object (`one_per_object`).

    `loaded` is a workbench.detect LoadedDetector: `detect([uint8 (3, H, W) tensor])` gives boxes (x1, y1, x2, y2 in
    the image's pixels), scores and class indices into `loaded.classes`.
    """
    pixels = np.asarray(load_image(path).convert("RGB")).copy()
    found = one_per_object(loaded.detect([torch.from_numpy(pixels).permute(2, 0, 1)])[0])
    out = []
    for (x1, y1, x2, y2), score, k in zip(found["boxes"].tolist(), found["scores"].tolist(), found["labels"].tolist()):
        label = loaded.classes[int(k)] if 0 <= int(k) < len(loaded.classes) else None
        if score >= min_score and label in classes and x2 > x1 and y2 > y1:
            out.append({"label": label, "x": x1, "y": y1, "w": x2 - x1, "h": y2 - y1, "confidence": float(score)})
    return out


def one_per_object(found: dict, iou: float = SAME_OBJECT_IOU) -> dict:
    """A detector's boxes with suppression across classes: the detectors suppress overlapping boxes per class only,
    so one object can carry a box of each class it resembles, and each extra costs the annotator a delete. Of boxes
    overlapping at least `iou`, the best-scored (its class) stays; the rest of `found` (scores, labels) follows."""
    if not len(found["boxes"]):
        return found
    keep = tv_ops.nms(found["boxes"].float(), found["scores"].float(), iou)
    return {k: v[keep] for k, v in found.items()}


def detection_runs(ws: Workspace, dataset: str) -> list[str]:
    """The dataset's detection runs with a best checkpoint, oldest first (read from their config.json: the run
    modules import torch, which the app does not load at start)."""
    found = []
    for folder in ws.checkpoints.iterdir() if ws.checkpoints.is_dir() else []:
        try:
            cfg = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError):
            continue
        if cfg.get("dataset") == dataset and cfg.get("task") == "detection" and (folder / "best.pt").is_file():
            found.append(((folder / "config.json").stat().st_mtime, folder.name))
    return [name for _, name in sorted(found)]


def detector_suggester(run: Run, min_score: float = MIN_SCORE) -> BoxSuggester:
    """The boxes of detection run `run` (its best checkpoint) at or above `min_score`."""
    try:
        load_detector = detect_model.load_detector
    except ImportError as e:
        raise WorkbenchError(f"Run {run.name!r} is a detector, but this install cannot load detectors ({e}).") from None
    loaded = load_detector(run.folder, "best", "cpu")
    return BoxSuggester(name=f"detector run {run.name} (score >= {min_score:g})",
                        suggest=lambda image, classes: detector_boxes(loaded, image["path"], classes, min_score))


def operating_score(ws: Workspace, dataset: str) -> tuple[float, str]:
    """The score floor to suggest `dataset`'s boxes at, and why: the one its newest detection run's evaluation chose
    on val (best box F1), else MIN_SCORE."""
    runs = detection_runs(ws, dataset)
    if not runs:
        return MIN_SCORE, f"default {MIN_SCORE:g}; no detector of this set yet"
    path = ws.run(runs[-1]).detection_evaluation_path()
    try:
        score = float(json.loads(path.read_text())["score_threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return MIN_SCORE, f"default {MIN_SCORE:g}; `workbench evaluate {runs[-1]}` chooses one on its val split"
    return score, f"run {runs[-1]} chose {score:g} on its val split (best box F1)"


def pick_suggester(ws: Workspace, dataset: str, min_score: float = MIN_SCORE) -> BoxSuggester | None:
    """What suggests boxes for `dataset`: its newest detection run once one exists, else the Haar cascades for face
    and eye classes, else nothing."""
    runs = detection_runs(ws, dataset)
    if runs:
        return detector_suggester(ws.run(runs[-1]), min_score)
    return haar_suggester(ws.store.box_classes(dataset))
