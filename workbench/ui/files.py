"""What the app serves over HTTP: dataset image folders and run plots, never the label store, checkpoints or logs.

Gradio 6 serves `/gradio_api/file=<path>` (and the older `/file=`) for: files under `allowed_paths` and static
paths, in place; its upload folder ($GRADIO_TEMP_DIR, where uploads and every file a handler returns are copied);
and `.gradio/cached_examples`. `blocked_paths` beats all of them. The working directory is not served by itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from workbench import paths
from workbench.store import Store


def private_files() -> list[Path]:
    """Files and folders never served, even below an allowed folder: the label store with its journals, .env."""
    db = paths.db_path()
    return [db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal")), paths.home() / ".env"]


def _holds_private(folder: Path) -> bool:
    """True for the working directory, a folder above it, datasets/ (the store) and anything in checkpoints/."""
    inside = (paths.db_path(), paths.checkpoints_dir(), paths.home() / ".env")
    return any(_is_in(p, folder) for p in inside) or _is_in(folder, paths.checkpoints_dir())


def _is_in(path: Path, folder: Path) -> bool:
    return Path(os.path.abspath(path)).resolve().is_relative_to(Path(os.path.abspath(folder)).resolve())


def image_folders(store: Store) -> list[str]:
    """The folders holding the datasets' image files (originals, converted copies), minus any holding private files.

    Images kept in such a folder (imported in place from the working directory) are not served in place;
    Gradio copies the ones a page shows into its cache instead.
    """
    stored = store.query("SELECT DISTINCT path FROM images")["path"]
    folders = {paths.from_stored(p).parent for p in stored}
    return sorted(str(f) for f in folders if not _holds_private(f))


def serve_dataset_files(store: Store) -> None:
    """Mark the folders holding every dataset's images as static: served as files, fast for big galleries."""
    folders = image_folders(store)
    if folders:
        gr.set_static_paths(folders)


def serving_paths(store: Store) -> dict[str, list[str]]:
    """launch() arguments: allow dataset image folders and run plots (plots_checkpoints/), block private files."""
    return {"allowed_paths": [str(paths.plots_dir()), *image_folders(store)],
            "blocked_paths": [str(p) for p in private_files()]}
