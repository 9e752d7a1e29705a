"""Unlabeled images: a folder (searched recursively) or a .zip of one."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Sequence

from workbench.data.imageio import is_image_name
from workbench.data.importers.common import ImportResult, Item, Progress, ingest, no_progress
from workbench.errors import ImportFailed, WorkbenchError
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


def zip_items(archive: str | Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of each image in a zip; refuses the whole archive if any entry would escape its folder."""
    archive = Path(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise WorkbenchError(f"{archive}: not a readable zip file ({e})") from None
    with zf:
        bad = [(f"{archive}:{i.filename}", "entry path escapes the target folder (zip-slip); archive refused")
               for i in zf.infolist() if _escapes(i.filename)]
        if bad:
            raise ImportFailed(bad)
        out = []
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not is_image_name(info.filename) or _hidden(info.filename):
                continue
            out.append((PurePosixPath(info.filename).as_posix(), zf.read(info)))
        return out


def import_zip(store: Store, archive: str | Path, name: str | None = None, classes: Sequence[str] = (),
               skip_bad: bool = False, progress: Progress = no_progress) -> ImportResult:
    """Import the images of a .zip (extracted into datasets/<name>/images/), unlabeled."""
    archive = Path(archive)
    items = [Item(name=n, data=d) for n, d in zip_items(archive)]
    return ingest(store, name or archive.stem, items, classes=classes, source=str(archive.resolve()),
                  skip_bad=skip_bad, progress=progress)


def _escapes(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":")


def _hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts)


def import_files(store: Store, files: Sequence[str | Path], name: str, classes: Sequence[str] = (),
                 skip_bad: bool = False, progress: Progress = no_progress) -> ImportResult:
    """Import uploaded image files (copied into datasets/<name>/images/), unlabeled."""
    items = [Item(name=Path(f).name, data=Path(f).read_bytes()) for f in files]
    return ingest(store, name, items, classes=classes, source="upload", skip_bad=skip_bad, progress=progress)
