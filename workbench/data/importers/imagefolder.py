"""A labelled ImageFolder tree: root/<class>/<image>, as torchvision reads it."""

from __future__ import annotations

from pathlib import Path

from workbench.data.importers.common import ImportResult, Item, Progress, ingest, no_progress
from workbench.data.importers.folder import list_images
from workbench.errors import WorkbenchError
from workbench.store import Store


def class_folders(root: Path) -> list[Path]:
    """The sub-folders of `root` (hidden ones skipped), sorted: one class each."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def import_imagefolder(store: Store, root: str | Path, name: str | None = None, skip_bad: bool = False,
                       progress: Progress = no_progress) -> ImportResult:
    """Import root/<class>/... images in place, each labelled by its sub-folder's name."""
    root = Path(root)
    items, classes = imagefolder_items(root)
    return ingest(store, name or root.name, items, classes=classes, source=str(root.resolve()),
                  skip_bad=skip_bad, progress=progress)


def imagefolder_items(root: Path) -> tuple[list[Item], list[str]]:
    """Each image of root/<class>/..., labelled by its sub-folder, and the class names in folder order."""
    if not root.is_dir():
        raise WorkbenchError(f"{root}: not a folder")
    folders = class_folders(root)
    if not folders:
        raise WorkbenchError(f"{root}: no class sub-folders (an ImageFolder tree is root/<class>/<image>)")
    items = [Item(name=p.relative_to(root).as_posix(), path=p, label=f.name)
             for f in folders for p in list_images(f)]
    return items, [f.name for f in folders]
