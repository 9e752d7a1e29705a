"""Detect objects in new images with a trained detection run: one table row per box, and the images with their boxes
drawn; unreadable images are listed with their reason, as classification's predict does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw

from workbench.atomic import atomic_path
from workbench.data.importers.common import Progress, no_progress
from workbench.detect.evaluate import load_detection_evaluation
from workbench.detect.model import LoadedDetector
from workbench.errors import WorkbenchError
from workbench.predict.sources import ImageSource, gather, load_batch
from workbench.run import Run
from workbench.tables import write_csv

BOX_TABLE = ["file", "box", "label", "score", "x", "y", "w", "h"]  # x, y: top-left; all in the image's pixels
DEFAULT_MIN_SCORE = 0.3
PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990",
           "#800000", "#000075", "#808000"]


@dataclass
class BoxPredictions:
    """`table`: one row per box kept (file, box number in its image, label, score, x, y, w, h); images without a box
    have a row with an empty label, so every image read is in the table. `bad`: files that could not be read."""

    run: str
    classes: list[str]
    table: pd.DataFrame
    min_score: float
    bad: list[tuple[str, str]] = field(default_factory=list)
    sources: list[ImageSource] = field(default_factory=list, repr=False)

    def frame(self) -> pd.DataFrame:
        """Box rows then unreadable files (`error` saying why): what the CSV holds."""
        bad = pd.DataFrame({"file": [f for f, _ in self.bad], "error": [r for _, r in self.bad]})
        return pd.concat([self.table.assign(error=""), bad], ignore_index=True)[[*BOX_TABLE, "error"]]

    def save_csv(self, path: str | Path) -> Path:
        """Write `frame()` to `path`."""
        return write_csv(path, self.frame())

    def display(self, rename: Callable[[str], str] = str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(the box table with a leading row number and scores to 3 decimals, unreadable files with their reason),
        each file shown as `rename` names it."""
        table = self.table.assign(file=self.table["file"].map(rename))
        table = table.round({"score": 3, "x": 1, "y": 1, "w": 1, "h": 1})
        table.insert(0, "row", range(len(table)))
        bad = pd.DataFrame({"file": [rename(f) for f, _ in self.bad], "reason": [why for _, why in self.bad]})
        return table, bad

    def row_sources(self) -> list[ImageSource]:
        """The image of each table row (several rows share an image)."""
        by_name = {s.name: s for s in self.sources}
        return [by_name[name] for name in self.table["file"]]

    def boxes_of(self, name: str) -> pd.DataFrame:
        """The boxes found in image `name`."""
        return self.table[(self.table.file == name) & (self.table.label != "")]

    def summary(self) -> str:
        """One line: images, boxes per class above the score floor, unreadable files."""
        boxes = self.table[self.table.label != ""]
        counts = boxes.label.value_counts()
        n = self.table.file.nunique()
        per = ", ".join(f"{c!r} × {counts[c]}" for c in self.classes if c in counts) or "none"
        s = f"{self.run}: {n} image{'' if n == 1 else 's'}, {len(boxes)} boxes with score >= {self.min_score:g} ({per})"
        return s + (f"; {len(self.bad)} could not be read" if self.bad else "")


def box_rows(name: str, found: dict[str, torch.Tensor], classes: Sequence[str], min_score: float) -> list[dict]:
    """Table rows of one image's detections at or above `min_score` (an empty-label row when there is none)."""
    keep = found["scores"] >= min_score
    boxes, scores, labels = found["boxes"][keep].numpy(), found["scores"][keep].numpy(), found["labels"][keep].numpy()
    if not len(boxes):
        return [{"file": name, "box": 0, "label": "", "score": np.nan, "x": np.nan, "y": np.nan, "w": np.nan,
                 "h": np.nan}]
    return [{"file": name, "box": k + 1, "label": classes[int(c)], "score": float(s), "x": float(b[0]),
             "y": float(b[1]), "w": float(b[2] - b[0]), "h": float(b[3] - b[1])}
            for k, (b, s, c) in enumerate(zip(boxes, scores, labels))]


def detect_sources(loaded: LoadedDetector, sources: Sequence[ImageSource], *, min_score: float = DEFAULT_MIN_SCORE,
                   batch_size: int = 8, progress: Progress = no_progress, run: str = "") -> BoxPredictions:
    """Read and detect `sources` a batch at a time, keeping boxes scored at least `min_score`."""
    if batch_size < 1:
        raise WorkbenchError(f"batch_size must be at least 1, got {batch_size}.")
    if not 0.0 <= min_score <= 1.0:
        raise WorkbenchError(f"The minimum score must be between 0 and 1, got {min_score}.")
    rows, kept, bad = [], [], []
    batches = [sources[i:i + batch_size] for i in range(0, len(sources), batch_size)]
    for batch in progress(batches, len(batches), f"Detecting in {len(sources)} images"):
        readable, images, unreadable = load_batch(batch)
        kept += readable
        bad += unreadable
        for src, found in zip(readable, loaded.detect([_tensor(im) for im in images]) if images else []):
            rows += box_rows(src.name, found, loaded.classes, min_score)
    table = pd.DataFrame(rows, columns=BOX_TABLE)
    return BoxPredictions(run or loaded.run_dir.name, list(loaded.classes), table, min_score, bad, kept)


def detect_paths(loaded: LoadedDetector, paths: Sequence[str | Path], *, min_score: float = DEFAULT_MIN_SCORE,
                 batch_size: int = 8, progress: Progress = no_progress) -> BoxPredictions:
    """Detect objects in image files, folders and zips; unusable paths are listed in `bad`."""
    sources, problems = gather(paths)
    result = detect_sources(loaded, sources, min_score=min_score, batch_size=batch_size, progress=progress)
    result.bad = problems + result.bad
    if result.table.empty:
        raise WorkbenchError("No image could be read:\n  " + "\n  ".join(f"{f}: {r}" for f, r in result.bad)
                             if result.bad else "No images given.")
    return result


def draw_boxes(image: Image.Image, boxes: pd.DataFrame, classes: Sequence[str],
               label: Callable[[pd.Series], str] | None = None) -> Image.Image:
    """`image` (as RGB) with each row's box (x, y, w, h) outlined in its class's colour and captioned
    (default: class and score)."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    width = max(1, round(max(out.size) / 250))
    for _, row in boxes.iterrows():
        colour = PALETTE[list(classes).index(row.label) % len(PALETTE)] if row.label in classes else "#ffffff"
        x, y, w, h = (float(row[k]) for k in "xywh")
        draw.rectangle([x, y, x + w, y + h], outline=colour, width=width)
        text = label(row) if label else f"{row.label} {row.score:.2f}" if "score" in row else str(row.label)
        tx, ty = x, max(0.0, y - 11)
        draw.rectangle(draw.textbbox((tx, ty), text), fill=colour)
        draw.text((tx, ty), text, fill="#ffffff")
    return out


def drawn(loaded: LoadedDetector, source: ImageSource, min_score: float, size: int = 640) -> tuple[Image.Image, str]:
    """One image with the boxes the run finds in it (scored at least `min_score`) drawn, at most `size` pixels on
    its longer side, and a caption counting them per class."""
    image = source.load()
    rows = pd.DataFrame(box_rows(source.name, loaded.detect([_tensor(image)])[0], loaded.classes, min_score))
    rows = rows[rows.label != ""]
    scale = min(1.0, size / max(image.size))
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
        rows[["x", "y", "w", "h"]] *= scale
    counts = rows.label.value_counts()
    what = ", ".join(f"{c} × {counts[c]}" for c in loaded.classes if c in counts) or "no box"
    return draw_boxes(image, rows, loaded.classes), f"{source.name}: {what} (score ≥ {min_score:g})"


def save_drawn(result: BoxPredictions, folder: str | Path) -> list[Path]:
    """Each read image with its boxes drawn, as <folder>/<n>_<name>.png; the files written."""
    folder = Path(folder)
    written = []
    for i, src in enumerate(result.sources):
        drawn = draw_boxes(src.load(), result.boxes_of(src.name), result.classes)
        path = folder / f"{i:04d}_{Path(src.name).stem}.png"
        with atomic_path(path) as tmp:
            drawn.save(tmp, format="PNG")
        written.append(path)
    return written


def run_min_score(run: Run) -> float:
    """The score floor to show a run's boxes at: the one its evaluation chose on val, else DEFAULT_MIN_SCORE."""
    evaluation = load_detection_evaluation(run)
    return DEFAULT_MIN_SCORE if evaluation is None else float(evaluation.score_threshold)


def _tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img.convert("RGB")).copy()).permute(2, 0, 1)
