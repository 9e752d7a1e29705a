"""An export's files in one .zip, for a download from the app (the CLI writes the folder itself)."""

from __future__ import annotations

import zipfile
from pathlib import Path


def zip_files(files: list[Path], into: Path) -> Path:
    """Write `files` (by their names, flat) into the zip `into`; returns its path."""
    into.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, arcname=Path(f).name)
    return into
