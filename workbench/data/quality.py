"""Automatic image-quality statistics (computed at import) and the categories derived from them.

The categories follow cleanvision's issue types: dark, low contrast (its "low information"), blurry,
and one of ours, inverted: an image anti-correlated with its set's mean image looks colour-inverted
(this works for aligned crops such as eyes or faces, the case it is for).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from workbench.data.thumbnails import thumbnail
from workbench.lazy import lazy_import

# scipy is imported when an image is first measured (an import), not by the pages that only read the categories
ndimage = lazy_import("scipy.ndimage")


@dataclass(frozen=True)
class Thresholds:
    """When a stored statistic puts an image in a category. Intensities are in 0..1."""

    dark: float = 0.25             # mean brightness below
    low_contrast: float = 0.06     # intensity std below
    blurry_ratio: float = 0.3      # Laplacian variance below this fraction of the set's median
    inverted: float = 0.2          # -corr(image, mean image) above


CATEGORIES = ("dark", "low contrast", "blurry", "inverted")


def image_stats(im: Image.Image) -> tuple[float, float, float, np.ndarray]:
    """(brightness, contrast, blur, thumbnail) of one L or RGB image; the thumbnail (workbench.data.thumbnails)
    as float32 in 0..1, what the inversion score compares."""
    gray = im if im.mode == "L" else im.convert("L")
    a = np.asarray(gray, dtype=np.float32) * (1 / 255.0)
    mean = float(a.mean())
    contrast = float(np.sqrt(np.mean(np.square(a - mean))))
    blur = float(ndimage.laplace(a).var()) if min(a.shape) >= 3 else 0.0
    thumb = thumbnail(gray).astype(np.float32) * (1 / 255.0)
    return mean, contrast, blur, thumb


def inverted_scores(thumbs: np.ndarray) -> np.ndarray:
    """-corr(each thumbnail, the mean thumbnail): near -1 for typical images, positive for inverted-looking ones."""
    thumbs = np.asarray(thumbs, dtype=np.float64)
    if len(thumbs) < 2:
        return np.zeros(len(thumbs))
    centred = thumbs - thumbs.mean(axis=1, keepdims=True)
    mean = centred.mean(axis=0)
    mean -= mean.mean()
    norms = np.linalg.norm(centred, axis=1) * np.linalg.norm(mean)
    corr = np.divide(centred @ mean, norms, out=np.zeros(len(thumbs)), where=norms > 1e-12)
    return -corr


def quality_categories(images: pd.DataFrame, thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """Long table (image_id, category) of the automatic categories each image falls in (none, one or several)."""
    t = thresholds
    median_blur = images["blur"].median() if len(images) else 0.0
    masks = {
        "dark": images["brightness"] < t.dark,
        "low contrast": images["contrast"] < t.low_contrast,
        "blurry": images["blur"] < t.blurry_ratio * median_blur,
        "inverted": images["inverted"] > t.inverted,
    }
    parts = [pd.DataFrame({"image_id": images.loc[m.fillna(False), "image_id"], "category": c})
             for c, m in masks.items()]
    return pd.concat(parts, ignore_index=True)
