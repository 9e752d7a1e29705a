"""One frame through a crop step and a run: the boxes with their class and confidence, and the frame drawn over."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import cv2
import numpy as np
import torch
from PIL import Image

from workbench.data.importers.crops import Box
from workbench.errors import WorkbenchError
from workbench.predict.crop_steps import DETECT_WIDTH, CropStep, crop_step
from workbench.predict.predict import decide, decision_threshold, probability_columns
from workbench.train.predict import predict
from workbench.train.runs import LoadedRun

# A frame's few small crops gain little from a second torch thread, and on a busy machine the threads wait for each
# other: with 2 threads the model took 60x as long as with 1 under a load of 12 on 2 cores (bench/live_bench.py).
FRAME_THREADS = 1

# one colour per class index (RGB), Okabe-Ito: tells classes apart for colour-blind viewers too
PALETTE = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0), (86, 180, 233),
           (240, 228, 66), (0, 0, 0)]


@dataclass(frozen=True)
class Detection:
    """One crop of a frame: its box, the decided class (index `k`), that class's probability, all probabilities."""

    box: Box
    label: str
    k: int
    confidence: float
    probs: tuple[float, ...]


@dataclass
class FrameClassifier:
    """Classify what `crop` finds in a frame with `loaded`, deciding at `threshold` (binary runs) or by argmax."""

    loaded: LoadedRun
    crop: CropStep
    threshold: float | None = None
    threads: int = FRAME_THREADS

    @property
    def classes(self) -> list[str]:
        return list(self.loaded.classes)

    def __call__(self, frame: np.ndarray, boxes: list[Box] | None = None) -> list[Detection]:
        """The detections of an (H, W, 3) uint8 RGB frame: every box (the crop step's unless given) classified in
        one batch."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise WorkbenchError(f"A frame must be an (H, W, 3) uint8 RGB array, got {frame.shape} {frame.dtype}.")
        boxes = self.crop.boxes(frame) if boxes is None else boxes
        if not boxes:
            return []
        crops = [Image.fromarray(frame[b.y:b.y + b.h, b.x:b.x + b.w]) for b in boxes]
        with torch_threads(self.threads):
            probs = predict(self.loaded, crops, batch_size=len(crops))
        decided = decide(probs, self.threshold)
        return [Detection(b, self.loaded.classes[k], int(k), float(p[k]), tuple(map(float, p)))
                for b, k, p in zip(boxes, decided, probs)]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Torch uses `n` threads in this thread for the block (a server thread's count is its own; restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def frame_classifier(loaded: LoadedRun, crop: str = "none", *, detect_width: int = DETECT_WIDTH,
                     threshold: float | None = None,
                     min_score: float | None = None) -> tuple[FrameClassifier, list[str]]:
    """The run behind the crop step `crop`, deciding as `workbench predict` does (binary runs at the run's
    threshold unless `threshold` is given); notes for the user (e.g. no threshold could be chosen)."""
    # a typo fails before a threshold is chosen
    step = crop_step(crop, detect_width=detect_width, ws=loaded.run.ws, min_score=min_score)
    chosen, _, notes = decision_threshold(loaded.run, loaded, threshold)
    return FrameClassifier(loaded, step, chosen), notes


CROP_COLUMNS = ["crop", "x", "y", "w", "h"]  # a crop's number in its frame and its box, in the frame's pixels


def detection_rows(found: Sequence[Detection], classes: Sequence[str], **where: object) -> list[dict]:
    """One table row per detection (`where`, e.g. the frame or the file, then the crop, box, class, confidence and
    p_<class>...); one row of `where` alone when nothing was found."""
    cols = probability_columns(classes)
    return [{**where, "crop": i, **vars(d.box), "class": d.label, "confidence": d.confidence,
             **dict(zip(cols, d.probs))} for i, d in enumerate(found)] or [dict(where)]


def detection_columns(classes: Sequence[str]) -> list[str]:
    """The columns detection_rows fills after its `where` ones."""
    return [*CROP_COLUMNS, "class", "confidence", *probability_columns(classes)]


def counts(detections: Sequence[Detection], classes: Sequence[str]) -> str:
    """'2 crops: face × 1, not face × 1' (classes in the run's order, absent ones left out)."""
    n = Counter(d.label for d in detections)
    each = ", ".join(f"{c} × {n[c]}" for c in classes if n[c])
    return f"{len(detections)} crop{'' if len(detections) == 1 else 's'}" + (f": {each}" if each else "")


def annotate(frame: np.ndarray, detections: Sequence[Detection], lines: Sequence[str] = ()) -> np.ndarray:
    """A copy of `frame` with each box drawn in its class's colour, labelled '<class> <confidence>', and `lines`
    of text in a band at the bottom left (apps overlay their own label on the top left corner)."""
    out = np.ascontiguousarray(frame).copy()
    thick = max(1, round(max(out.shape[:2]) / 320))
    scale = max(0.4, max(out.shape[:2]) / 1280)
    for d in detections:
        colour = PALETTE[d.k % len(PALETTE)]
        b = d.box
        cv2.rectangle(out, (b.x, b.y), (b.x + b.w - 1, b.y + b.h - 1), colour, thick)
        _label(out, f"{d.label} {d.confidence:.2f}", (b.x, b.y), colour, scale, thick)
    bottom = out.shape[0]
    for line in reversed(lines):
        bottom = _label(out, line, (0, bottom), (32, 32, 32), scale, thick)
    return out


def _label(img: np.ndarray, text: str, at: tuple[int, int], colour: tuple[int, int, int], scale: float,
           thick: int) -> int:
    """White text on a `colour` band just above the point `at` (below it when there is no room above); returns
    the band's top edge."""
    text = text.replace("×", "x").encode("ascii", "replace").decode()  # OpenCV's fonts draw ASCII only
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = at
    band = h + base + 4
    top = y - band if y - band >= 0 else y
    cv2.rectangle(img, (x, top), (x + w + 4, top + band), colour, cv2.FILLED)
    cv2.putText(img, text, (x + 2, top + h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return top
