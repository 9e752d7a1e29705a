"""Crop steps of the camera and video paths: where in a frame the classifier looks.

A crop step turns an RGB frame into boxes; each box is cut out and classified. `none` classifies the whole frame,
`faces` and `eyes` use OpenCV's Haar cascades exactly as import does (workbench.data.importers.crops). A detector trained in
Workbench becomes one more step: any object with `name` and `boxes(frame)` registered with `register_crop_step`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Protocol

import cv2
import numpy as np

from workbench.data.importers.crops import Box, detect_eyes, detect_faces
from workbench.errors import WorkbenchError

DETECT_WIDTH = 640  # frames wider than this are shrunk before the cascade looks at them (cost grows with pixels)


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


@dataclass(frozen=True)
class HaarCrops:
    """Frontal faces, or the eyes inside them, found by the Haar cascades on the frame shrunk to `detect_width`
    pixels wide (boxes scaled back to the frame); eyes are searched at full resolution inside each face."""

    name: str = "faces"
    detect_width: int = DETECT_WIDTH

    def boxes(self, frame: np.ndarray) -> list[Box]:
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        scale = min(1.0, self.detect_width / grey.shape[1])
        small = grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        faces = [_scaled(b, 1 / scale, grey.shape) for b in detect_faces(small)]
        if self.name == "faces":
            return faces
        return [eye for face in faces for eye in detect_eyes(grey, face)]


def _scaled(b: Box, k: float, shape: tuple[int, ...]) -> Box:
    """`b` multiplied by `k`, kept inside an image of `shape`."""
    x, y = min(round(b.x * k), shape[1] - 1), min(round(b.y * k), shape[0] - 1)
    return Box(x, y, max(1, min(round(b.w * k), shape[1] - x)), max(1, min(round(b.h * k), shape[0] - y)))


CROP_STEPS: dict[str, Callable[..., CropStep]] = {}


def register_crop_step(name: str, factory: Callable[..., CropStep]) -> None:
    """Make `name` a crop step: `factory(**options)` builds it (options: detect_width, or what the step needs)."""
    CROP_STEPS[name] = factory


def _whole_frame(**_: object) -> CropStep:
    return WholeFrame()


register_crop_step("none", _whole_frame)
register_crop_step("faces", partial(HaarCrops, "faces"))
register_crop_step("eyes", partial(HaarCrops, "eyes"))


def crop_step(name: str, *, detect_width: int = DETECT_WIDTH) -> CropStep:
    """The crop step called `name`; a WorkbenchError naming the choices for an unknown one."""
    if name not in CROP_STEPS:
        raise WorkbenchError(f"Unknown crop step {name!r}; choose one of: {', '.join(CROP_STEPS)}.")
    if not 64 <= int(detect_width) <= 4096:
        raise WorkbenchError(f"The detection width must be between 64 and 4096 pixels, got {detect_width}.")
    return CROP_STEPS[name](detect_width=int(detect_width))
