"""Boxes that an import brings (COCO JSON, Pascal VOC XML, YOLO txt), checked against the images as decoded.

Each format's reader turns its files into ImportedBoxes: image names (relative to the dataset), class names and boxes
as top-left x, y and size w, h in image pixels. `problems` names every bad box (outside the image, non-positive size,
an unknown image or class) with the file and place it came from; ingest refuses the whole import on any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from workbench.errors import WorkbenchError
from workbench.store import box_problem

ANNOTATOR = "import"  # imported boxes are this annotator's, like imported labels


@dataclass
class BoxRow:
    """One imported box: its image's name, class, top-left corner and size in pixels, and where it was read."""

    name: str
    label: str
    x: float
    y: float
    w: float
    h: float
    where: str
    normalized: bool = False  # x, y, w, h are fractions of the image's width and height (YOLO)


@dataclass
class ImportedBoxes:
    """The boxes of one import. `boxed` are the images whose boxes the files give (none is an answer: no objects)."""

    classes: list[str]
    rows: list[BoxRow] = field(default_factory=list)
    boxed: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # found while reading (unknown image or class)

    def check(self, sizes: dict[str, tuple[int, int]], skipped: set[str] = frozenset()) -> list[tuple[str, str]]:
        """Every problem: those found while reading, and each box outside its (decoded) image or of non-positive
        size; boxes of images a skip_bad import skipped are dropped silently (the image is listed already).
        Boxes read in fractions of the image (YOLO) are turned into pixels here, where the sizes are known."""
        out = list(self.problems)
        known = set(self.classes)
        self.rows = [r for r in self.rows if r.name not in skipped]
        for r in self.rows:
            if r.normalized and r.name in sizes:
                width, height = sizes[r.name]
                r.x, r.w, r.y, r.h = r.x * width, r.w * width, r.y * height, r.h * height
                r.normalized = False
            if r.label not in known:
                out.append((r.where, f"unknown class {r.label!r} (classes: {', '.join(self.classes) or 'none'})"))
            elif r.name not in sizes:
                out.append((r.where, f"names image {r.name!r}, which is not among the images imported"))
            elif problem := box_problem(r.x, r.y, r.w, r.h, *sizes[r.name]):
                out.append((r.where, f"{r.name}: {problem}"))
        return out

    def store_rows(self, ids: dict[str, int]) -> list[dict]:
        """The boxes as Store.add_boxes rows, for images that were imported (`ids`: name -> image id)."""
        return [{"image_id": ids[r.name], "label": r.label, "x": r.x, "y": r.y, "w": r.w, "h": r.h}
                for r in self.rows if r.name in ids]


def class_list(found: Sequence[str], given: Sequence[str], existing: Sequence[str]) -> list[str]:
    """The box classes of an import: the ones given (or the dataset's), else those the files name, in first-seen
    order. Given or existing classes come first, so a class the files name outside them is refused as unknown."""
    if given or existing:
        return list(dict.fromkeys([*existing, *given]))
    return list(dict.fromkeys(found))


def relative_name(path: Path, root: Path) -> str:
    """An image's name in the dataset: its path under the import's root folder, with forward slashes."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise WorkbenchError(f"{path} is outside {root}; keep the images under the folder imported.") from None
