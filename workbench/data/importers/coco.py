"""COCO JSON (what Label Studio, CVAT and FiftyOne export): images, categories and bbox annotations [x, y, w, h]."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from workbench.data.importers.boxes import ANNOTATOR, BoxRow, ImportedBoxes, class_list
from workbench.data.importers.common import ImportResult, Item, Progress, ingest, no_progress
from workbench.errors import WorkbenchError
from workbench.store import Store


def read_coco(path: Path, images: Path | None = None, classes: Sequence[str] = (),
              existing: Sequence[str] = ()) -> tuple[list[Item], ImportedBoxes]:
    """The images a COCO file lists (looked up under `images`, else beside the file or in its images/ folder) and
    their boxes; every image listed counts as boxed (none: no objects)."""
    doc = _load(path)
    cats = {c.get("id"): str(c.get("name", "")).strip() for c in _list(doc, "categories", path)}
    boxes = ImportedBoxes(classes=class_list(list(cats.values()), classes, existing))
    items, names = [], {}
    for n, im in enumerate(_list(doc, "images", path)):
        where = f"{path.name} image {im.get('id', n)}"
        name = str(im.get("file_name", "")).replace("\\", "/")
        rel = PurePosixPath(name)
        if not name or rel.is_absolute() or ".." in rel.parts:
            boxes.problems.append((where, f"file_name {name!r} must be a path relative to the images folder"))
            continue
        file = _find(path, images, rel)
        if file is None:
            boxes.problems.append((where, f"{name} not found beside {path.name}"
                                          f"{'' if images is None else f' or in {images}'}"))
            continue
        names[im.get("id")] = rel.as_posix()
        items.append(Item(name=rel.as_posix(), path=file))
    boxes.boxed = list(names.values())
    for n, ann in enumerate(_list(doc, "annotations", path, required=False)):
        _annotation(ann, n, path, names, cats, boxes)
    return items, boxes


def _annotation(ann: dict, n: int, path: Path, names: dict, cats: dict, boxes: ImportedBoxes) -> None:
    where = f"{path.name} annotation {ann.get('id', n)}"
    if ann.get("image_id") not in names:
        boxes.problems.append((where, f"image_id {ann.get('image_id')!r} is not an image the file lists"))
        return
    if ann.get("category_id") not in cats:
        boxes.problems.append((where, f"unknown category_id {ann.get('category_id')!r} "
                                      f"(categories: {', '.join(map(str, cats)) or 'none'})"))
        return
    bbox = ann.get("bbox")
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        boxes.problems.append((where, f"bbox {bbox!r} is not [x, y, width, height]"))
        return
    boxes.rows.append(BoxRow(names[ann["image_id"]], cats[ann["category_id"]], x, y, w, h, where))


def _find(path: Path, images: Path | None, rel: PurePosixPath) -> Path | None:
    folders = [images] if images is not None else [path.parent, path.parent / "images"]
    return next((f / rel for f in folders if (f / rel).is_file()), None)


def _load(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WorkbenchError(f"{path}: not a readable COCO JSON file ({e})") from None
    if not isinstance(doc, dict) or "images" not in doc:
        raise WorkbenchError(f"{path}: not a COCO JSON file (needs \"images\", \"annotations\" and \"categories\")")
    return doc


def _list(doc: dict, key: str, path: Path, required: bool = True) -> list[Any]:
    value = doc.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise WorkbenchError(f"{path}: \"{key}\" must be a list of objects")
    return value


GENERIC_STEMS = ("annotations", "instances", "_annotations", "labels", "result", "coco", "boxes")


def default_name(path: Path) -> str:
    """The file's name, or its folder's when the file has a tool's generic name (annotations.json,
    instances_default.json from CVAT, result.json from Label Studio, _annotations.coco.json)."""
    stem = path.name.split(".")[0].lower()
    return path.resolve().parent.name if stem.startswith(GENERIC_STEMS) else path.stem


def import_coco(store: Store, path: str | Path, images: str | Path | None = None, name: str | None = None,
                classes: Sequence[str] = (), skip_bad: bool = False, progress: Progress = no_progress) -> ImportResult:
    """Import a COCO JSON file's images (in place) and boxes into dataset `name` (default: see default_name)."""
    path = Path(path)
    dataset = name or default_name(path)
    existing = store.box_classes(dataset) if dataset in store.datasets() else []
    items, boxes = read_coco(path, Path(images) if images else None, classes, existing)
    return ingest(store, dataset, items, source=str(path.resolve()), skip_bad=skip_bad, progress=progress,
                  boxes=boxes, annotator=ANNOTATOR)
