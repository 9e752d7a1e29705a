"""Photos through a crop step and a run: one row per photo and crop (file, crop, box, class, confidence,
p_<class>...), as each sampled frame of a video gets; a photo where nothing was found keeps one row without a box.
Unreadable photos are listed with their reason, the rest predicted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from workbench.data.importers.common import Progress, no_progress
from workbench.errors import BadImage, WorkbenchError
from workbench.predict.crop_steps import DETECT_WIDTH
from workbench.predict.frames import CROP_COLUMNS, detection_columns, detection_rows, frame_classifier
from workbench.predict.sources import gather
from workbench.run import Run
from workbench.tables import write_csv
from workbench.train.runs import LoadedRun, load_run


@dataclass
class CropPredictions:
    """One row per photo and crop (`table`), the photos that could not be read (`bad`: file, reason), notes."""

    run: str
    crop: str
    classes: list[str]
    table: pd.DataFrame
    bad: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """Predicted rows then unreadable photos (`error` saying why): what the CSV holds."""
        bad = pd.DataFrame({"file": [f for f, _ in self.bad], "error": [r for _, r in self.bad]})
        return pd.concat([p for p in (self.table, bad) if len(p)], ignore_index=True) \
            .reindex(columns=[*self.table.columns, "error"])

    def save_csv(self, path: str | Path) -> Path:
        """Write `frame()` to `path` (folders made as needed)."""
        return write_csv(path, self.frame())

    def summary(self) -> str:
        """One line: photos, crops per class, photos with no crop, unreadable photos."""
        photos = self.table["file"].nunique()
        found = Counter(self.table["class"].dropna())
        empty = int(self.table.groupby("file")["class"].count().eq(0).sum())
        s = (f"{self.run}: {photos} photo{'' if photos == 1 else 's'}, {sum(found.values())} {self.crop} crops "
             f"classified: {', '.join(f'{c!r} × {found[c]}' for c in self.classes)}")
        s += f"; {empty} with no crop found" if empty else ""
        return s + (f"; {len(self.bad)} could not be read" if self.bad else "")


def predict_photo_crops(run: Run, paths: Sequence[str | Path], *, crop: str, detect_width: int = DETECT_WIDTH,
                        threshold: float | None = None, min_score: float | None = None,
                        progress: Progress = no_progress, loaded: LoadedRun | None = None) -> CropPredictions:
    """Classify what the crop step `crop` finds in each photo of `paths` (files, folders, zips) with `run`, deciding
    as `workbench predict` does for whole images (`min_score`: a detection run's floor, see crop_step). A
    WorkbenchError when no photo could be read."""
    loaded = loaded or load_run(run)
    classify, notes = frame_classifier(loaded, crop, detect_width=detect_width, threshold=threshold,
                                       min_score=min_score)
    sources, bad = gather(paths)
    rows: list[dict] = []
    for src in progress(sources, len(sources), f"Finding {crop} in {len(sources)} photos"):
        try:
            image = src.load()
        except BadImage as e:
            bad.append((src.name, str(e).removeprefix(src.name + ": ")))
            continue
        rows += detection_rows(classify(np.asarray(image.convert("RGB"))), classify.classes, file=src.name)
    if not rows:
        raise WorkbenchError("No photo could be predicted:\n  " + "\n  ".join(f"{f}: {r}" for f, r in bad)
                             if bad else "No photos given.")
    table = pd.DataFrame(rows, columns=["file", *detection_columns(classify.classes)])
    return CropPredictions(run.name, crop, list(loaded.classes),
                           table.astype({c: "Int64" for c in CROP_COLUMNS}), bad, notes)
