"""Suggested boxes: what a detector that already fits finds, for the annotator to accept (Enter) or correct.

Before any detector is trained on the set, OpenCV's Haar cascades suggest faces and eyes (as `import --crop` finds
them) for box classes named like "face" and "eye"; once a detector run of the set exists, its boxes above a
threshold do. Suggestions are never recorded by themselves: accepting one records it as "accepted".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from workbench.data.crops import detect_eyes, detect_faces
from workbench.data.imageio import load_image

DETECT_SIDE = 1024  # photos are searched at most this big: a 3000×4000 photo takes seconds at full size


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
