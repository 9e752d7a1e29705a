"""What the app serves over HTTP: dataset image folders and run plots, never the label store, checkpoints or logs.

Gradio 6 serves `/gradio_api/file=<path>` (and the older `/file=`) for: files under `allowed_paths` and static
paths, in place; its upload folder ($GRADIO_TEMP_DIR, where uploads and every file a handler returns are copied);
and `.gradio/cached_examples`. `blocked_paths` beats all of them. The working directory is not served by itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from workbench.store import Store
from workbench.workspace import Workspace


def private_files(ws: Workspace) -> list[Path]:
    """Files and folders never served, even below an allowed folder: the label store with its journals, .env."""
    stores = {ws.db_file, *([ws.store.path.resolve()] if ws.store.path else [])}  # the default file, the store's own
    journals = [db.with_name(db.name + s) for db in sorted(stores) for s in ("-wal", "-shm", "-journal")]
    return [*sorted(stores), *journals, ws.home / ".env"]


def _holds_private(ws: Workspace, folder: Path) -> bool:
    """True for the working directory, a folder above it, datasets/ (the store) and anything in checkpoints/."""
    inside = (ws.db_file, ws.checkpoints, ws.home / ".env")
    return any(_is_in(p, folder) for p in inside) or _is_in(folder, ws.checkpoints)


def _is_in(path: Path, folder: Path) -> bool:
    return Path(os.path.abspath(path)).resolve().is_relative_to(Path(os.path.abspath(folder)).resolve())


def image_folders(ws: Workspace) -> list[str]:
    """The folders holding the datasets' image files (originals, converted copies), minus any holding private files.

    Images kept in such a folder (imported in place from the working directory) are not served in place;
    Gradio copies the ones a page shows into its cache instead.
    """
    stored = ws.store.query("SELECT DISTINCT path FROM images")["path"]
    folders = {ws.from_stored(p).parent for p in stored}
    return sorted(str(f) for f in folders if not _holds_private(ws, f))


def serve_dataset_files(ws: Workspace | Store) -> None:
    """Mark the folders holding every dataset's images as static: served as files, fast for big galleries.

    A Store stands for the workspace around it (tabs that do not hold ctx.ws yet)."""
    folders = image_folders(ws if isinstance(ws, Workspace) else Workspace.around(ws))
    if folders:
        gr.set_static_paths(folders)


def serving_paths(ws: Workspace) -> dict[str, list[str]]:
    """launch() arguments: allow dataset image folders and run plots (plots_checkpoints/), block private files."""
    return {"allowed_paths": [str(ws.plots), *image_folders(ws)],
            "blocked_paths": [str(p) for p in private_files(ws)]}
