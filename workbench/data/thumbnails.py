"""The one thumbnail pipeline: grayscale, bilinear, 16×16 (or another side), uint8.

Import measures each image's inversion score on it (workbench.data.quality), the "similar" queue order clusters
it (workbench.labeling.similar) and label suggestions use it beside the backbone's embedding
(workbench.labeling.features), reading it from a per-dataset cache keyed by file content; suggestions also read
the 28×28 grey crops of the same pipeline (their HOG descriptors and a small CNN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from workbench.atomic import atomic_path
from workbench.data.imageio import load_image

THUMB = 16  # side in pixels
PIXELS = THUMB * THUMB
CACHE = "thumbnails16.npz"
# stored in the cache: a cache made by another pipeline (an older version resized bicubic) is not mixed in
PIPELINE = "L bilinear 16"


def thumbnail(im: Image.Image, side: int = THUMB) -> np.ndarray:
    """(side², ) uint8 grayscale side×side thumbnail of an L or RGB image (16×16 by default)."""
    gray = im if im.mode == "L" else im.convert("L")
    return np.asarray(gray.resize((side, side), Image.BILINEAR), dtype=np.uint8).ravel()


def file_thumbnail(path: str | Path, side: int = THUMB) -> np.ndarray:
    """The thumbnail of an image file; all zeros when it cannot be read (it still gets a place in an order)."""
    try:
        return thumbnail(load_image(path), side)
    except Exception:  # a file gone or damaged since import
        return np.zeros(side * side, dtype=np.uint8)


def cached_thumbnails(folder: Path, images: pd.DataFrame, side: int = THUMB) -> np.ndarray:
    """(N, side²) float32 thumbnails of `images` (columns sha256, path) in row order, from
    `folder`/thumbnails<side>.npz or decoded once and added to it."""
    cache = Path(folder) / (CACHE if side == THUMB else f"thumbnails{side}.npz")
    pipeline = PIPELINE if side == THUMB else f"L bilinear {side}"
    known = _read_cache(cache, pipeline)
    missing = [(sha, p) for sha, p in zip(images["sha256"], images["path"]) if sha not in known]
    for sha, p in missing:
        known[sha] = file_thumbnail(p, side)
    if missing:
        with atomic_path(cache) as tmp:
            np.savez(tmp, sha256=np.array(list(known)), pixels=np.stack(list(known.values())),
                     pipeline=np.array(pipeline))
    if not len(images):
        return np.zeros((0, side * side), np.float32)
    return np.stack([known[sha] for sha in images["sha256"]]).astype(np.float32)


def standardised(pixels: np.ndarray) -> np.ndarray:
    """(N, 256) thumbnails each scaled to zero mean and unit variance, so brightness and contrast do not count."""
    x = pixels - pixels.mean(1, keepdims=True)
    return x / np.maximum(x.std(1, keepdims=True), 1e-6)


def _read_cache(cache: Path, pipeline: str = PIPELINE) -> dict[str, np.ndarray]:
    if not cache.is_file():
        return {}
    with np.load(cache) as f:
        if "pipeline" not in f.files or str(f["pipeline"]) != pipeline:
            return {}
        return dict(zip(f["sha256"].tolist(), f["pixels"]))
