"""CAM overlays as an error gallery's thumbnails, made for the visible page only and cached on disk."""

from __future__ import annotations

import logging

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.explain.cache import cache_dir, cam_overlay_files
from workbench.explain.cam import run_layer
from workbench.explain.methods import LABELS
from workbench.review.run_cache import RunCache
from workbench.run import Run

log = logging.getLogger(__name__)


class CamThumbs:
    """A gallery's thumbnail function (`review.gallery.ThumbFn`): CAM overlays of each row's predicted class.
    When they cannot be made, the plain images and the reason (`note`) instead, so the gallery and the category
    table still show; otherwise `note` names the method and the layer used."""

    def __init__(self, runs: RunCache, run: Run, method: str, layer: str | None = None):
        self.runs, self.run, self.method, self.layer, self.note = runs, run, method, layer, ""

    def __call__(self, rows: pd.DataFrame) -> list[str]:
        try:
            loaded = self.runs.get(self.run)
            used = run_layer(loaded, self.layer)
            folder = cache_dir(self.run, self.method, self.layer)
            files = cam_overlay_files(loaded, rows["image_id"].tolist(), rows["path"].tolist(),
                                      rows["y_pred"].tolist(), folder, self.method, self.layer)
        except Exception as e:  # noqa: BLE001 (any failure: a CAM is an extra, the errors still show)
            log.warning("CAM thumbnails of %s failed: %s", self.run.name, e, exc_info=not isinstance(e, WorkbenchError))
            self.note = f"Showing images without CAM overlays: {e}"
            return rows["path"].tolist()
        self.note = f"{LABELS.get(self.method, self.method)} of the predicted class at {used.describe()}."
        return files
