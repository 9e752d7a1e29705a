"""Crop steps of the camera and video paths: where in a frame the classifier looks.

A crop step turns an RGB frame into boxes; each box is cut out and classified. `none` classifies the whole frame,
`faces` and `eyes` use OpenCV's Haar cascades exactly as import does (workbench.data.importers.crops); `run:NAME`,
a detection run trained in Workbench (workbench.predict.detector_crops). Any object with `name` and `boxes(frame)`
registered with `register_crop_step` becomes one more.

A live stream need not search every frame whole: BoxTracker searches every few frames and, in between, looks for
each box again near where it was (steps with `refind`, the cascades: a small patch instead of the frame) or keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Protocol

import cv2
import numpy as np

from workbench.data.importers.crops import Box, cascade, detect_eyes, detect_faces
from workbench.errors import WorkbenchError
from workbench.predict.detector_crops import PREFIX as DETECTOR_PREFIX, detector_step
from workbench.workspace import Workspace

DETECT_WIDTH = 640  # frames wider than this are shrunk before the cascade looks at them (cost grows with pixels)
DETECT_EVERY = 3  # a live stream searches whole frames this often; a new face waits at most this many frames
# A box is looked for again in a patch shrunk so the box is about this wide: the cascade's 24 px window fits the
# smallest size tried. On faces sliding 6 px a frame: IoU >= 0.88 with a whole search, 4 ms a face (64 px: 14 ms).
REFIND_PX = 32
REFIND_MARGIN = 0.5  # the patch reaches this many box widths beyond the box on each side: how far it may have moved
REFIND_SIZES = (0.75, 1.33)  # and it may have shrunk or grown this much
# A live stream's whole searches try face sizes 20% apart, not 10%: 1.75x faster, the same 33 of 34 LFW faces found
# at 320 px (fewer sizes give fewer neighbouring finds, so 3 suffice instead of 5).
LIVE_SCALE_STEP, LIVE_NEIGHBOURS = 1.2, 3


class CropStep(Protocol):
    """Where to classify in a frame."""

    name: str

    def boxes(self, frame: np.ndarray) -> list[Box]:
        """Boxes (in the frame's pixels) of an (H, W, 3) uint8 RGB frame, in a stable order."""
        ...


@dataclass(frozen=True)
class WholeFrame:
    """The whole frame is one crop: the classifier sees what a picture upload would."""

    name: str = "none"

    def boxes(self, frame: np.ndarray) -> list[Box]:
        h, w = frame.shape[:2]
        return [Box(0, 0, w, h)]

    def refind(self, frame: np.ndarray, previous: list[Box]) -> list[Box]:
        return self.boxes(frame)


@dataclass(frozen=True)
class HaarCrops:
    """Frontal faces, or the eyes inside them, found by the Haar cascades on the frame shrunk to `detect_width`
    pixels wide (boxes scaled back to the frame; sizes `scale_step` apart, see detect_faces); eyes are searched at
    full resolution inside each face."""

    name: str = "faces"
    detect_width: int = DETECT_WIDTH
    scale_step: float = 1.1
    neighbours: int = 5

    def boxes(self, frame: np.ndarray) -> list[Box]:
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        scale = min(1.0, self.detect_width / grey.shape[1])
        small = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        faces = [_scaled(b, 1 / scale, grey.shape) for b in detect_faces(small, self.scale_step, self.neighbours)]
        if self.name == "faces":
            return faces
        return [eye for face in faces for eye in detect_eyes(grey, face)]

    def refind(self, frame: np.ndarray, previous: list[Box]) -> list[Box]:
        """Each of `previous` looked for again near where it was (the box found there, or none): the cascade runs on
        a small patch around each box, at sizes close to it, instead of on the whole frame."""
        part = "face" if self.name == "faces" else "eye"
        return [b for b in (_refind(frame, p, part) for p in previous) if b is not None]


def _refind(frame: np.ndarray, b: Box, part: str) -> Box | None:
    """The `part` nearest to `b` in a patch of `frame` around it, or None."""
    m = round(b.w * REFIND_MARGIN)
    x0, y0 = max(0, b.x - m), max(0, b.y - m)
    x1, y1 = min(frame.shape[1], b.x + b.w + m), min(frame.shape[0], b.y + b.h + m)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    k = min(1.0, REFIND_PX / b.w)
    patch = cv2.resize(frame[y0:y1, x0:x1], None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    patch = patch if patch.ndim == 2 else cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)  # the patch alone: not the frame
    lo, hi = (max(1, round(b.w * k * f)) for f in REFIND_SIZES)
    found = cascade(part).detectMultiScale(patch, scaleFactor=1.1, minNeighbors=3, minSize=(lo, lo),
                                           maxSize=(hi, hi))
    if len(found) == 0:
        return None
    cx, cy = (b.x - x0 + b.w / 2) * k, (b.y - y0 + b.h / 2) * k
    x, y, w, h = min(found, key=lambda f: (f[0] + f[2] / 2 - cx) ** 2 + (f[1] + f[3] / 2 - cy) ** 2)
    inside = _scaled(Box(int(x), int(y), int(w), int(h)), 1 / k, (y1 - y0, x1 - x0))
    return Box(inside.x + x0, inside.y + y0, inside.w, inside.h)


def _scaled(b: Box, k: float, shape: tuple[int, ...]) -> Box:
    """`b` multiplied by `k`, kept inside an image of `shape`."""
    x, y = min(round(b.x * k), shape[1] - 1), min(round(b.y * k), shape[0] - 1)
    return Box(x, y, max(1, min(round(b.w * k), shape[1] - x)), max(1, min(round(b.h * k), shape[0] - y)))


@dataclass
class BoxTracker:
    """A live stream's boxes: the whole frame searched every `every` frames (and on the frame after a box was
    lost); in between, each box looked for again near where it was (`step.refind`) or, for a step without one, kept.
    Small and copyable, like the stream that holds it."""

    every: int = DETECT_EVERY
    last: list[Box] = field(default_factory=list)
    since: int = 0  # frames since the last whole search (0: search the next frame whole)

    def boxes(self, step: CropStep, frame: np.ndarray) -> list[Box]:
        """The boxes of `frame`, the newest of the stream."""
        if self.since % max(1, self.every) == 0:
            found, self.since = step.boxes(frame), 1
        else:
            refind = getattr(step, "refind", None)
            found = refind(frame, self.last) if refind else [_scaled(b, 1, frame.shape) for b in self.last]
            self.since = 0 if len(found) < len(self.last) else self.since + 1
        self.last = found
        return found


CROP_STEPS: dict[str, Callable[..., CropStep]] = {}


def register_crop_step(name: str, factory: Callable[..., CropStep]) -> None:
    """Make `name` a crop step: `factory(**options)` builds it (options: detect_width and live, or what the step
    needs)."""
    CROP_STEPS[name] = factory


def _whole_frame(**_: object) -> CropStep:
    return WholeFrame()


def _haar(name: str, *, detect_width: int = DETECT_WIDTH, live: bool = False) -> CropStep:
    return HaarCrops(name, detect_width, *((LIVE_SCALE_STEP, LIVE_NEIGHBOURS) if live else ()))


register_crop_step("none", _whole_frame)
register_crop_step("faces", partial(_haar, "faces"))
register_crop_step("eyes", partial(_haar, "eyes"))


def crop_step(name: str, *, detect_width: int = DETECT_WIDTH, live: bool = False, ws: Workspace | None = None,
              min_score: float | None = None) -> CropStep:
    """The crop step called `name` (`live`: tuned for a live stream's speed), or `run:NAME`, the detection run NAME
    of `ws` (boxes scored at least `min_score`, by default its own floor); a WorkbenchError naming the choices for an
    unknown one."""
    if name.startswith(DETECTOR_PREFIX) and ws is not None:
        return detector_step(ws, name, min_score)
    if name not in CROP_STEPS:
        raise WorkbenchError(f"Unknown crop step {name!r}; choose one of: {', '.join(CROP_STEPS)}, or "
                             f"{DETECTOR_PREFIX}NAME for a detection run.")
    if not 64 <= int(detect_width) <= 4096:
        raise WorkbenchError(f"The detection width must be between 64 and 4096 pixels, got {detect_width}.")
    return CROP_STEPS[name](detect_width=int(detect_width), live=live)
