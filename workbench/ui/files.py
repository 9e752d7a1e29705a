"""Let the browser load dataset images straight from disk (no copy into Gradio's cache)."""

from __future__ import annotations

import gradio as gr

from workbench import paths
from workbench.store import Store


def serve_dataset_files(store: Store) -> None:
    """Mark the folders holding every dataset's images as static: served as files, fast for big galleries."""
    stored = store.query("SELECT DISTINCT path FROM images")["path"]
    folders = {str(paths.from_stored(p).parent) for p in stored}
    if folders:
        gr.set_static_paths(sorted(folders))
