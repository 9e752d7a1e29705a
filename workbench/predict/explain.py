"""Grad-CAM of one predicted image (a file or a zip entry), for the Predict tab."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from workbench.errors import WorkbenchError
from workbench.explain.cam import explain_images, overlay, run_layer
from workbench.explain.methods import LABELS
from workbench.predict.predict import decide
from workbench.predict.sources import ImageSource
from workbench.train.predict import predict
from workbench.train.runs import LoadedRun


@dataclass
class ExplainedPrediction:
    original: Image.Image  # upscaled with nearest-neighbour, so small crops stay sharp
    overlay: Image.Image
    caption: str


def explain_prediction(loaded: LoadedRun, source: ImageSource, class_name: str | None = None,
                       threshold: float | None = None, method: str = "gradcam",
                       size: int = 320) -> ExplainedPrediction:
    """The CAM of `class_name` (default: the decided class, at `threshold` for a binary run) over the image."""
    if class_name and class_name not in loaded.classes:
        raise WorkbenchError(f"Class {class_name!r} is not one of the run's classes {loaded.classes}.")
    image = source.load()
    probs = predict(loaded, [image])[0]
    decided = int(decide(probs, threshold)[0])
    target = loaded.classes.index(class_name) if class_name else decided
    cam = explain_images(loaded, [image], [target], method)[0]
    w, h = image.size
    scale = size / max(w, h)
    original = image.convert("RGB").resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.NEAREST)
    caption = (f"{source.name} · decision: {loaded.classes[decided]} ({probs[decided]:.1%}) · "
               f"{LABELS.get(method, method)} of '{loaded.classes[target]}' at {run_layer(loaded).describe()}")
    return ExplainedPrediction(original, overlay(image, cam, size), caption)
