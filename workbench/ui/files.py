"""Let the browser load dataset images straight from disk (no copy into Gradio's cache)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from workbench.store import Store


def serve_dataset_files(store: Store) -> None:
    """Mark the folders holding every dataset's images as static: served as files, fast for big galleries."""
    folders = set()
    for name in store.datasets():
        for p in store.images(name)["path"]:
            folders.add(str(Path(p).parent))
    if folders:
        gr.set_static_paths(sorted(folders))
