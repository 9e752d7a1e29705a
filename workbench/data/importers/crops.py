"""Faces and eyes cut out of photos at import with OpenCV's Haar cascades.

Each crop becomes a grey size×size image whose store record keeps its photo and box in `source`
(`<photo>#xywh=x,y,w,h`, the W3C media-fragment form); datasets/<name>/crops.csv lists the same per crop.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from workbench.data.archives import ZipImages
from workbench.data.imageio import decode
from workbench.data.importers.common import ImportResult, Item, Progress, dataset_folder, ingest, no_progress, read_item
from workbench.data.importers.folder import folder_items, zip_items
from workbench.data.importers.imagefolder import imagefolder_items
from workbench.errors import BadImage, WorkbenchError
from workbench.lazy import lazy_import
from workbench.store import Store
from workbench.tables import read_csv, write_csv

# OpenCV is imported when photos are first cropped (or boxes suggested), not by every importer and page
cv2 = lazy_import("cv2")

CROP_KINDS = ("faces", "eyes")
CASCADES = {"face": "haarcascade_frontalface_default.xml", "eye": "haarcascade_eye.xml"}
EYE_SEARCH = 0.6  # eyes are searched in the top 60% of a face: the mouth and nostrils fool the eye cascade
CROPS_CSV = "crops.csv"
CROPS_COLUMNS = ["name", "photo", "kind", "x", "y", "w", "h", "face"]


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def fragment(self) -> str:
        """The box as a W3C media fragment, `xywh=x,y,w,h`."""
        return f"xywh={self.x},{self.y},{self.w},{self.h}"


@dataclass
class Crop:
    """One crop: where it came from, and the item that imports it."""

    item: Item
    photo: str
    kind: str  # "face" or "eye"
    box: Box
    face: int  # index of the face in its photo (an eye's own face)


@dataclass
class CropImportResult(ImportResult):
    kind: str = "faces"
    photos: int = 0
    without: list[str] = field(default_factory=list)  # readable photos in which nothing was found

    def __str__(self) -> str:
        s = f"{super().__str__()}; {self.found} {self.kind} crops from {self.photos} photo{'s' * (self.photos != 1)}"
        if self.without:
            n = len(self.without)
            s += (f"; {n} photo{'s' * (n != 1)} with no {self.kind[:-1]} found: " + ", ".join(self.without[:10])
                  + (" ..." if len(self.without) > 10 else ""))
        return s


@lru_cache(maxsize=None)
def cascade(part: str) -> Any:
    """A Haar cascade shipped with opencv-python-headless 4.x (5.x wheels have none)."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if folder is None or not hasattr(cv2, "CascadeClassifier"):
        raise WorkbenchError(f"OpenCV {cv2.__version__} has no Haar cascades; install opencv-python-headless<5.")
    c = cv2.CascadeClassifier(str(Path(folder) / CASCADES[part]))
    if c.empty():
        raise WorkbenchError(f"Cannot load {CASCADES[part]} from {folder}; reinstall opencv-python-headless<5.")
    return c


def detect_faces(gray: np.ndarray, scale_step: float = 1.1, neighbours: int = 5) -> list[Box]:
    """Frontal faces in a uint8 grey image, top to bottom then left to right; the cascade tries sizes `scale_step`
    apart and keeps a face found at `neighbours` nearby places and sizes."""
    found = cascade("face").detectMultiScale(gray, scaleFactor=scale_step, minNeighbors=neighbours, minSize=(24, 24))
    return sorted((Box(*map(int, b)) for b in found), key=lambda b: (b.y, b.x))


def detect_eyes(gray: np.ndarray, face: Box) -> list[Box]:
    """At most two eyes inside `face` (the largest found), left to right, in photo coordinates."""
    top = gray[face.y:face.y + max(int(face.h * EYE_SEARCH), 1), face.x:face.x + face.w]
    found = cascade("eye").detectMultiScale(top, scaleFactor=1.1, minNeighbors=5)
    boxes = sorted((Box(face.x + int(x), face.y + int(y), int(w), int(h)) for x, y, w, h in found),
                   key=lambda b: -b.w * b.h)[:2]
    return sorted(boxes, key=lambda b: b.x)


def crop_photo(im: Image.Image, item: Item, kind: str, size: int, shown: str) -> list[Crop]:
    """The faces (or the eyes inside them) of one decoded photo as grey size×size PNG crops."""
    grey = im.convert("L")
    gray = np.asarray(grey)
    stem = PurePosixPath(item.name).with_suffix("").as_posix()
    crops = []
    for i, face in enumerate(detect_faces(gray)):
        parts = [("face", face, f"{stem}.face{i}.png")] if kind == "faces" else \
            [("eye", eye, f"{stem}.face{i}.eye{j}.png") for j, eye in enumerate(detect_eyes(gray, face))]
        for part, box, name in parts:
            buf = io.BytesIO()
            grey.crop((box.x, box.y, box.x + box.w, box.y + box.h)).resize((size, size), Image.LANCZOS).save(buf, "PNG")
            crops.append(Crop(Item(name=name, label=item.label, data=buf.getvalue(),
                                   source=f"{shown}#{box.fragment()}"), shown, part, box, i))
    return crops


def check_crop(kind: str, size: int) -> None:
    """Refuse an unknown crop kind or a size outside 8..1024 pixels (before any photo is read)."""
    if kind not in CROP_KINDS:
        raise WorkbenchError(f"Unknown crop {kind!r}; choose one of: {', '.join(CROP_KINDS)}.")
    if not 8 <= int(size) <= 1024:
        raise WorkbenchError(f"Crop size must be between 8 and 1024 pixels, got {size}.")


def find_crops(photos: Sequence[Item], kind: str, size: int, progress: Progress = no_progress
               ) -> tuple[list[Crop], list[tuple[str, str]], list[str]]:
    """(crops, unreadable photos with their reason, readable photos in which nothing was found)."""
    check_crop(kind, size)
    crops, problems, without = [], [], []
    for item in progress(photos, len(photos), f"Finding {kind}"):
        shown = str(item.path.resolve()) if item.path is not None else item.source or item.name
        try:
            im = decode(read_item(item), shown)[0]
        except BadImage as e:
            problems.append((shown, str(e).removeprefix(shown + ": ")))
            continue
        found = crop_photo(im, item, kind, int(size), shown)
        crops += found
        if not found:
            without.append(item.name)
    return crops, problems, without


def import_crops(store: Store, photos: Sequence[Item], dataset: str, kind: str, size: int, *,
                 classes: Sequence[str] = (), source: str = "", skip_bad: bool = False,
                 progress: Progress = no_progress) -> CropImportResult:
    """Import the faces or eyes found in `photos` (labels carried to their crops); all or nothing as any import."""
    crops, problems, without = find_crops(photos, kind, size, progress)
    if not crops and not problems:
        raise WorkbenchError(f"No {kind[:-1]} found in any of the {len(photos)} photos of {source or dataset}; "
                             "nothing imported.")
    result = ingest(store, dataset, [c.item for c in crops], classes=classes, source=source, skip_bad=skip_bad,
                    progress=progress, problems=problems)
    write_crops_csv(store, dataset, crops)
    return CropImportResult(**vars(result), kind=kind, photos=len(photos) - len(problems), without=without)


def photo_items(path: Path, fmt: str) -> tuple[list[Item], list[str]]:
    """The photos of a folder, a .zip or an ImageFolder tree (labelled by sub-folder), and the tree's classes."""
    if fmt == "folder":
        return folder_items(path), []
    if fmt == "zip":
        items = zip_items(ZipImages(path))  # zip bombs refused here; each photo read when its crops are cut
        for item in items:
            item.source = f"{path.resolve()}:{item.name}"
        return items, []
    if fmt == "imagefolder":
        return imagefolder_items(path)
    raise WorkbenchError(f"Crops are cut from photos: a folder, a .zip or an ImageFolder tree, not a {fmt} import.")


def import_photo_crops(store: Store, path: Path, fmt: str, kind: str, size: int, name: str | None = None,
                       classes: Sequence[str] = (), skip_bad: bool = False,
                       progress: Progress = no_progress) -> CropImportResult:
    """`workbench import PATH --crop faces|eyes --size N`: dataset `name` (default: <path name>-<kind>)."""
    check_crop(kind, size)
    photos, tree_classes = photo_items(path, fmt)
    if not photos:
        raise WorkbenchError(f"No image files found in {path}.")
    return import_crops(store, photos, name or f"{path.stem}-{kind}", kind, size, classes=list(classes) or tree_classes,
                        source=f"{path.resolve()} ({kind} crops, {size} px)", skip_bad=skip_bad, progress=progress)


def write_crops_csv(store: Store, dataset: str, crops: Sequence[Crop]) -> Path:
    """datasets/<name>/crops.csv: name, photo, kind, x, y, w, h, face; merged with an earlier import's rows."""
    f = dataset_folder(store, dataset) / CROPS_CSV
    rows = pd.DataFrame([{"name": c.item.name, "photo": c.photo, "kind": c.kind, **vars(c.box), "face": c.face}
                         for c in crops], columns=CROPS_COLUMNS)
    if f.is_file():
        rows = pd.concat([read_csv(f), rows]).drop_duplicates("name", keep="last")
    return write_csv(f, rows)


def read_crops_csv(store: Store, dataset: str) -> pd.DataFrame:
    """The crops of a dataset with their photo and box (empty when it was not imported with --crop)."""
    f = dataset_folder(store, dataset) / CROPS_CSV
    return read_csv(f) if f.is_file() else pd.DataFrame(columns=CROPS_COLUMNS)
