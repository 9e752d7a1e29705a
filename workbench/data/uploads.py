"""What a user hands over (browser uploads, a webcam picture, paths on a command line), each path sorted by kind:
a .zip, a folder, any other file, or missing. Importing an upload (workbench.data.importers.import_upload) and
predicting one (workbench.predict.gather) decide by the same rule."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Literal

Kind = Literal["zip", "folder", "file", "missing"]


def upload_paths(*given: Any) -> list[Path]:
    """The paths in gradio upload values, in order: paths, file objects with a `.name` path, lists of either;
    None and empty values are dropped."""
    out = []
    for value in given:
        for v in value if isinstance(value, (list, tuple)) else [value]:
            p = v if isinstance(v, (str, os.PathLike)) else getattr(v, "name", None)
            if p:
                out.append(Path(p))
    return out


def kind_of(path: Path) -> Kind:
    """A folder, a .zip file, any other existing file (an image, or a file whose reading says why not), or missing."""
    if path.is_dir():
        return "folder"
    if path.suffix.lower() == ".zip" and path.is_file():
        return "zip"
    return "file" if path.exists() else "missing"


def sort_paths(paths: Iterable[str | Path]) -> list[tuple[Kind, Path]]:
    """(kind, path) for each path, in the order given."""
    return [(kind_of(Path(p)), Path(p)) for p in paths]
