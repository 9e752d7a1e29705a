"""Short videos and fake-camera clips made from real photos (scikit-image's astronaut and LFW faces), for the
camera and video tests and bench/live_bench.py.

A frame is 640×480: a photo scaled onto a grey canvas. The astronaut photo holds one face the Haar cascade finds;
an LFW face (25×25) is scaled up to 160 px so the cascade finds it too; skimage's coffee photo holds no face.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from skimage import data

SIZE = (640, 480)  # width, height


def photo(name: str) -> np.ndarray:
    """A 640×480 RGB frame showing one real photo: 'astronaut', 'coffee', or 'lfw<i>' (LFW subset face i)."""
    canvas = np.full((SIZE[1], SIZE[0], 3), 118, np.uint8)
    if name.startswith("lfw"):
        face = (data.lfw_subset()[int(name[3:])] * 255).round().astype(np.uint8)
        face = cv2.cvtColor(cv2.resize(face, (160, 160), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB)
        canvas[160:320, 240:400] = face
        return canvas
    img = getattr(data, name)()
    h = SIZE[1]
    w = round(img.shape[1] * h / img.shape[0])
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    x = max(0, (SIZE[0] - w) // 2)
    canvas[:, x:x + min(w, SIZE[0])] = img[:, :SIZE[0]]
    return canvas


def frames(script: Sequence[tuple[str, int]]) -> list[np.ndarray]:
    """Frames following `script`: (photo name, how many frames) in order."""
    return [photo(name) for name, n in script for _ in range(n)]


def panning(script: Sequence[tuple[str, int]], px: int) -> list[np.ndarray]:
    """Frames following `script`, each photo sliding `px` pixels to the right per frame while it is shown (a camera
    turning slowly): what a live stream looks like from one frame to the next."""
    return [np.roll(photo(name), i * px, axis=1) for name, n in script for i in range(n)]


def write_video(path: Path, script: Sequence[tuple[str, int]], fps: float = 10.0, fourcc: str = "mp4v") -> Path:
    """A video file of `script`'s frames (OpenCV's writer: mp4v in .mp4, MJPG in .avi)."""
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, SIZE)
    assert out.isOpened(), f"OpenCV cannot write {path}"
    for f in frames(script):
        out.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    out.release()
    return path


def write_y4m(path: Path, script: Sequence[tuple[str, int]], fps: int = 10) -> Path:
    """A YUV4MPEG2 clip for Chromium's fake camera (--use-file-for-fake-video-capture), written by hand: a header,
    then per frame 'FRAME\\n' and the I420 planes (Y full size, U and V at half width and height)."""
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{SIZE[0]} H{SIZE[1]} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames(script):
            f.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path
