"""Unlabeled images: a folder (searched recursively) or a .zip of one."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Sequence

from workbench.data.archives import ZipImages
from workbench.data.imageio import is_image_name
from workbench.data.importers.common import ImportResult, Item, Progress, ingest, no_progress
from workbench.errors import WorkbenchError
from workbench.store import Store


def list_images(folder: Path) -> list[Path]:
    """Image files under folder in a stable (sorted) order, hidden files skipped."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_image_name(p.name)
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def import_folder(store: Store, folder: str | Path, name: str | None = None, classes: Sequence[str] = (),
                  skip_bad: bool = False, progress: Progress = no_progress) -> ImportResult:
    """Import every image under `folder` (in place, unlabeled) into dataset `name` (default: folder name)."""
    folder = Path(folder)
    return ingest(store, name or folder.name, folder_items(folder), classes=classes, source=str(folder.resolve()),
                  skip_bad=skip_bad, progress=progress)


def folder_items(folder: Path) -> list[Item]:
    """Each image under `folder`, unlabeled, named by its path relative to the folder."""
    if not folder.is_dir():
        raise WorkbenchError(f"{folder}: not a folder")
    return [Item(name=p.relative_to(folder).as_posix(), path=p) for p in list_images(folder)]


def zip_items(archive: ZipImages) -> list[Item]:
    """Each image of a checked zip, unlabeled, read from the archive when it is imported (one at a time)."""
    return [Item(name=n, reader=partial(archive.read, n)) for n in archive.names]


def import_zip(store: Store, archive: str | Path, name: str | None = None, classes: Sequence[str] = (),
               skip_bad: bool = False, progress: Progress = no_progress) -> ImportResult:
    """Import the images of a .zip (extracted into datasets/<name>/images/), unlabeled; zip bombs refused
    (workbench.data.archives)."""
    archive = Path(archive)
    with ZipImages(archive) as z:  # zip-slip and zip bombs refused here, before anything is written
        return ingest(store, name or archive.stem, zip_items(z), classes=classes, source=str(archive.resolve()),
                      skip_bad=skip_bad, progress=progress)


def import_files(store: Store, files: Sequence[str | Path], name: str, classes: Sequence[str] = (),
                 skip_bad: bool = False, progress: Progress = no_progress) -> ImportResult:
    """Import uploaded image files (copied into datasets/<name>/images/), unlabeled."""
    items = [Item(name=Path(f).name, data=Path(f).read_bytes()) for f in files]
    return ingest(store, name, items, classes=classes, source="upload", skip_bad=skip_bad, progress=progress)
