"""Importers: each format a function ending in the same all-or-nothing ingest; `import_path` picks by what it sees."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from workbench.data.archives import ZipImages
from workbench.data.importers.arrays import import_arrays, import_numpy
from workbench.data.importers.coco import import_coco
from workbench.data.importers.common import ImportResult, Item, Progress, ingest, no_progress
from workbench.data.importers.crops import import_photo_crops
from workbench.data.importers.folder import (folder_items, import_files, import_folder, import_zip, list_images,
                                             zip_items)
from workbench.data.importers.imagefolder import class_folders, import_imagefolder
from workbench.data.importers.table import import_table
from workbench.data.importers.voc import annotation_files, import_voc
from workbench.data.importers.yolo import import_yolo, is_yolo_folder
from workbench.data.uploads import sort_paths
from workbench.errors import WorkbenchError
from workbench.store import Store

FORMATS = {
    "folder": "a folder of unlabeled images (searched recursively)",
    "zip": "a .zip of unlabeled images (entries escaping the folder are refused)",
    "imagefolder": "a labelled tree root/<class>/<image>",
    "table": "a .csv or .xlsx of filename,label next to a folder of images (--images to point elsewhere)",
    "numpy": "X.npy images (N,H,W[,C]) with optional --labels y.npy (indices or one-hot) and --classes",
    "coco": "a COCO .json of boxes; images beside it, in its images/ folder, or in --images",
    "voc": "a Pascal VOC folder: one .xml of boxes per image (Annotations/ beside JPEGImages/, or next to them)",
    "yolo": "a YOLO folder (images/ and labels/ with data.yaml or classes.txt) or its data.yaml; or --classes",
}


def detect_format(path: Path) -> str:
    """Guess the format of `path` the way a user would describe it."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return "zip"
    if suffix in (".csv", ".xlsx", ".xlsm"):
        return "table"
    if suffix == ".npy":
        return "numpy"
    if suffix == ".json":
        return "coco"
    if suffix in (".yaml", ".yml"):
        return "yolo"
    if path.is_dir() and annotation_files(path):
        return "voc"
    if path.is_dir() and is_yolo_folder(path):
        return "yolo"
    if path.is_dir():
        has_top_images = any(p.is_file() for p in list_images(path) if p.parent == path)
        return "imagefolder" if class_folders(path) and not has_top_images else "folder"
    if not path.exists():
        raise WorkbenchError(f"{path}: no such file or folder")
    raise WorkbenchError(f"{path}: cannot tell its format; give a folder, .zip, .csv, .xlsx, X.npy, a COCO .json "
                         "or a YOLO data.yaml")


def import_path(store: Store, path: str | Path, fmt: str = "auto", name: str | None = None,
                labels: str | Path | None = None, classes: Sequence[str] | str | None = None,
                images: str | Path | None = None, skip_bad: bool = False,
                progress: Progress = no_progress, crop: str | None = None, crop_size: int = 24) -> ImportResult:
    """Import any supported format; `fmt="auto"` detects it from the path. `crop` ("faces" or "eyes")
    imports the faces or eyes found in the photos instead, as grey crop_size² crops (workbench.data.importers.crops)."""
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    class_list = split_classes(classes)
    if crop:
        return import_photo_crops(store, path, fmt, crop, crop_size, name, class_list, skip_bad, progress)
    if fmt == "folder":
        return import_folder(store, path, name, class_list, skip_bad, progress)
    if fmt == "zip":
        return import_zip(store, path, name, class_list, skip_bad, progress)
    if fmt == "imagefolder":
        return import_imagefolder(store, path, name, skip_bad, progress)
    if fmt == "table":
        return import_table(store, path, images, name, class_list, skip_bad, progress)
    if fmt == "numpy":
        return import_numpy(store, path, labels, classes, name, progress, skip_bad=skip_bad)
    if fmt == "coco":
        return import_coco(store, path, images, name, class_list, skip_bad, progress)
    if fmt == "voc":
        return import_voc(store, path, name, class_list, skip_bad, progress)
    if fmt == "yolo":
        return import_yolo(store, path, name, class_list, skip_bad, progress)
    raise WorkbenchError(f"Unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def import_upload(store: Store, paths: Sequence[str | Path], name: str | None = None,
                  classes: Sequence[str] | str | None = None, skip_bad: bool = False,
                  progress: Progress = no_progress) -> ImportResult:
    """Import what a user uploaded, unlabeled: one .zip as `import_zip` (dataset named after it), one folder as
    `import_folder`, anything else (image files, or several zips and folders) copied into dataset `name`
    (default "upload"); a missing path counts like a bad image."""
    parts = sort_paths(paths)
    if not parts:
        raise WorkbenchError("Choose a .zip or image files to upload first.")
    class_list = split_classes(classes)
    only = parts[0] if len(parts) == 1 else (None, None)
    if only[0] == "zip":
        return import_zip(store, only[1], name, class_list, skip_bad, progress)
    if only[0] == "folder":
        return import_folder(store, only[1], name, class_list, skip_bad, progress)
    items, problems = [], []
    for kind, p in parts:
        if kind == "zip":
            items += zip_items(ZipImages(p))  # each zip checked now, read as its images are imported
        elif kind == "folder":
            items += folder_items(p)
        elif kind == "file":
            items.append(Item(name=p.name, data=p.read_bytes()))  # copied: uploads live in a temporary folder
        else:
            problems.append((str(p), "no such file or folder"))
    return ingest(store, name or "upload", items, classes=class_list, source="upload", skip_bad=skip_bad,
                  progress=progress, problems=problems)


def split_classes(classes: Sequence[str] | str | None) -> list[str]:
    """Class names from a list or a comma-separated string (blank names dropped)."""
    if isinstance(classes, str):
        return [c.strip() for c in classes.split(",") if c.strip()]
    return list(classes or [])


__all__ = ["FORMATS", "ImportResult", "Progress", "detect_format", "import_arrays", "import_coco", "import_files",
           "import_folder", "import_imagefolder", "import_voc", "import_yolo", "import_numpy", "import_path", "import_table", "import_upload", "import_zip",
           "no_progress", "split_classes"]
