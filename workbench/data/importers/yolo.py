"""YOLO txt: images/ beside labels/ (or a .txt next to each image), one line per box `class cx cy w h` in fractions
of the image; class names from data.yaml (`names`), classes.txt or obj.names, or --classes in index order. As in
Ultralytics, an image without a label file has no objects."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import yaml

from workbench.data.importers.boxes import ANNOTATOR, BoxRow, ImportedBoxes, class_list, relative_name
from workbench.data.importers.common import ImportResult, Item, Progress, ingest, no_progress
from workbench.data.importers.folder import list_images
from workbench.errors import WorkbenchError
from workbench.store import Store

NAME_FILES = ("data.yaml", "dataset.yaml", "classes.txt", "obj.names")


def is_yolo_folder(folder: Path) -> bool:
    """A folder that looks like a YOLO set: a names file, or labels/ with .txt files beside images/."""
    if any((folder / f).is_file() for f in NAME_FILES):
        return True
    return (folder / "images").is_dir() and (folder / "labels").is_dir() and any((folder / "labels").rglob("*.txt"))


def class_names(root: Path, yaml_file: Path | None = None) -> list[str]:
    """Class names in index order from data.yaml (`names`: a list or {index: name}), classes.txt or obj.names."""
    files = [yaml_file] if yaml_file else [root / f for f in NAME_FILES if (root / f).is_file()]
    for f in files:
        if f.suffix in (".yaml", ".yml"):
            try:
                names = (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("names")
            except (OSError, yaml.YAMLError, AttributeError) as e:
                raise WorkbenchError(f"{f}: not a readable YOLO data.yaml ({e})") from None
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names)]
            if isinstance(names, list):
                return [str(n) for n in names]
            raise WorkbenchError(f"{f}: needs `names:` (a list, or index: name)")
        return [line.strip() for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return []


def label_file(image: Path, root: Path) -> Path:
    """Where YOLO keeps an image's boxes: the path with its last images/ folder as labels/, else beside it."""
    parts = list(image.relative_to(root).parts)
    if "images" in parts[:-1]:
        k = len(parts) - 2 - parts[-2::-1].index("images")
        parts[k] = "labels"
        return (root.joinpath(*parts)).with_suffix(".txt")
    return image.with_suffix(".txt")


def read_yolo(path: Path, classes: Sequence[str] = (), existing: Sequence[str] = ()):
    """Every image under the set's folder (`path`, or the folder of a data.yaml) and the boxes of its label files."""
    root = path.parent if path.is_file() else path
    names = list(classes) or class_names(root, path if path.is_file() else None)
    if not names:
        raise WorkbenchError(f"{path}: YOLO label files name classes by number; give the names in index order "
                             "(--classes a,b,...) or put a data.yaml or classes.txt beside images/ and labels/.")
    boxes = ImportedBoxes(classes=class_list(names, names, existing))  # every named index is a class
    items, used = [], set()
    for image in list_images(root):
        name = relative_name(image, root)
        txt = label_file(image, root)
        boxes.boxed.append(name)
        items.append(Item(name=name, path=image))
        if txt.is_file():
            used.add(txt.resolve())
            _read_lines(txt, root, name, names, boxes)
    labels_dir = root / "labels"
    for txt in sorted(labels_dir.rglob("*.txt")) if labels_dir.is_dir() else []:
        if txt.resolve() not in used:
            boxes.problems.append((txt.relative_to(root).as_posix(), "no image of that name under images/"))
    return items, boxes


def _read_lines(txt: Path, root: Path, name: str, names: list[str], boxes: ImportedBoxes) -> None:
    shown = txt.relative_to(root).as_posix()
    for n, line in enumerate(txt.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        where = f"{shown}:{n}"
        try:
            if len(parts) != 5:
                raise ValueError(f"{len(parts)} values")
            k, (cx, cy, w, h) = int(parts[0]), (float(v) for v in parts[1:])
        except ValueError as e:
            boxes.problems.append((where, f"expected `class cx cy w h` (an index and 4 fractions), got {line!r} ({e})"))
            continue
        if not 0 <= k < len(names):
            boxes.problems.append((where, f"unknown class index {k} (classes 0..{len(names) - 1}: {', '.join(names)})"))
            continue
        boxes.rows.append(BoxRow(name, names[k], cx - w / 2, cy - h / 2, w, h, where, normalized=True))


def import_yolo(store: Store, path: str | Path, name: str | None = None, classes: Sequence[str] = (),
                skip_bad: bool = False, progress: Progress = no_progress) -> ImportResult:
    """Import a YOLO set (folder or its data.yaml): images in place and their boxes, into dataset `name`."""
    path = Path(path)
    root = path.parent if path.is_file() else path
    dataset = name or root.name
    existing = store.box_classes(dataset) if dataset in store.datasets() else []
    items, boxes = read_yolo(path, classes, existing)
    return ingest(store, dataset, items, source=str(path.resolve()), skip_bad=skip_bad, progress=progress,
                  boxes=boxes, annotator=ANNOTATOR)
