"""A detection run trained in Workbench as a crop step (`run:NAME`): the boxes it finds in a frame, scored at least
the run's floor, are what the classifier looks at, in video files, photos and the live camera.

The detector is loaded once per checkpoint file and kept (a live stream builds its crop step for every frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.data.importers.crops import Box
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.run import detection_runs
from workbench.workspace import Workspace

# torchvision's detectors: loaded when a detection run is a crop step, not with the video and camera paths
detectors = lazy_import("workbench.detect.model")
detection = lazy_import("workbench.detect.predict")

PREFIX = "run:"  # a crop step named run:NAME is the detection run NAME


@dataclass(frozen=True)
class DetectorCrops:
    """The boxes `detector` (a workbench.detect LoadedDetector) finds, scored at least `min_score`, top to bottom."""

    name: str
    detector: Any
    min_score: float

    def boxes(self, frame: np.ndarray) -> list[Box]:
        found = self.detector.detect([torch.from_numpy(np.array(frame)).permute(2, 0, 1)])[0]  # a writable copy
        h, w = frame.shape[:2]
        out = []
        for (x1, y1, x2, y2), score in zip(found["boxes"].tolist(), found["scores"].tolist()):
            x1, y1, x2, y2 = max(0, round(x1)), max(0, round(y1)), min(w, round(x2)), min(h, round(y2))
            if score >= self.min_score and x2 > x1 and y2 > y1:
                out.append(Box(x1, y1, x2 - x1, y2 - y1))
        return sorted(out, key=lambda b: (b.y, b.x))


def detector_step(ws: Workspace, name: str, min_score: float | None = None) -> DetectorCrops:
    """The crop step `run:NAME` of workspace `ws`: the detection run's best checkpoint, its boxes at `min_score` or
    at the floor its evaluation chose. A WorkbenchError for a run that is no detector."""
    run = ws.run(name.removeprefix(PREFIX))
    if not run.is_detector:
        found = detection_runs(ws)
        raise WorkbenchError(f"Run {run.name!r} is a classifier; a crop step takes a detection run"
                             + (f": {', '.join(PREFIX + r for r in found)}." if found else " (there is none yet)."))
    best = run.folder / "best.pt"
    if not best.is_file():
        raise WorkbenchError(f"Detection run {run.name!r} has no best.pt (did it finish an epoch?).")
    floor = detection.run_min_score(run) if min_score is None else min_score
    return DetectorCrops(PREFIX + run.name, _load(str(run.folder), best.stat().st_mtime_ns), float(floor))


@lru_cache(maxsize=4)
def _load(folder: str, stamp: int) -> Any:
    """The detector of the run in `folder` whose best.pt was written at `stamp` (a retrained run loads anew)."""
    return detectors.load_detector(Path(folder), "best", "auto")
