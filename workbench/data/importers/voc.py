"""Pascal VOC: one XML file per image (<annotation><filename>, <object><name>, <bndbox> xmin ymin xmax ymax), in an
Annotations/ folder beside JPEGImages/ or next to the images. Corners are read as pixel coordinates (x = xmin,
w = xmax - xmin), as albumentations' pascal_voc format and the tools that export VOC write them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from typing import Sequence

from workbench.data.importers.boxes import ANNOTATOR, BoxRow, ImportedBoxes, class_list, relative_name
from workbench.data.importers.common import ImportResult, Progress, ingest, no_progress
from workbench.data.importers.folder import folder_items
from workbench.errors import WorkbenchError
from workbench.store import Store

_CORNERS = ("xmin", "ymin", "xmax", "ymax")


def annotation_files(folder: Path) -> list[Path]:
    """The Pascal VOC XML files under `folder` (other XML files are not annotations and are left out)."""
    out = []
    for p in sorted(folder.rglob("*.xml")):
        if any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        try:
            with open(p, "rb") as f:
                head = f.read(512)
        except OSError:
            continue
        if b"<annotation" in head:
            out.append(p)
    return out


def read_voc(folder: Path, classes: Sequence[str] = (), existing: Sequence[str] = ()):
    """Every image under `folder` (those without an XML stay unboxed) and the boxes of the XML files."""
    items = folder_items(folder)
    found, rows, boxed, problems = [], [], [], []
    for xml in annotation_files(folder):
        where = xml.relative_to(folder).as_posix()
        try:
            root = ET.parse(xml).getroot()
        except ET.ParseError as e:
            problems.append((where, f"not readable XML ({e})"))
            continue
        image = _image_of(root, xml, folder)
        if image is None:
            problems.append((where, f"names image {root.findtext('filename')!r}, not found beside it, in "
                                    "JPEGImages/ or in the folder imported"))
            continue
        name = relative_name(image, folder)
        boxed.append(name)
        for k, obj in enumerate(root.iter("object"), 1):
            label = (obj.findtext("name") or "").strip()
            found.append(label)
            try:
                x0, y0, x1, y1 = (float(obj.find("bndbox").findtext(c)) for c in _CORNERS)
            except (AttributeError, TypeError, ValueError):
                problems.append((f"{where} object {k}", "needs <bndbox> with numbers xmin, ymin, xmax, ymax"))
                continue
            rows.append(BoxRow(name, label, x0, y0, x1 - x0, y1 - y0, f"{where} object {k}"))
    boxes = ImportedBoxes(classes=class_list(found, classes, existing), rows=rows, boxed=boxed, problems=problems)
    return items, boxes


def _image_of(root: ET.Element, xml: Path, folder: Path) -> Path | None:
    rel = PurePosixPath((root.findtext("filename") or "").strip().replace("\\", "/"))
    if not rel.parts or rel.is_absolute() or ".." in rel.parts:
        return None
    for base in (xml.parent, xml.parent.parent / "JPEGImages", folder / "JPEGImages", folder):
        if (base / rel).is_file():
            return base / rel
    return None


def import_voc(store: Store, folder: str | Path, name: str | None = None, classes: Sequence[str] = (),
               skip_bad: bool = False, progress: Progress = no_progress) -> ImportResult:
    """Import a Pascal VOC folder's images (in place) and boxes into dataset `name` (default: the folder's name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise WorkbenchError(f"{folder}: not a folder")
    dataset = name or folder.name
    existing = store.box_classes(dataset) if dataset in store.datasets() else []
    items, boxes = read_voc(folder, classes, existing)
    return ingest(store, dataset, items, source=str(folder.resolve()), skip_bad=skip_bad, progress=progress,
                  boxes=boxes, annotator=ANNOTATOR)
