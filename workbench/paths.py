"""Where Workbench keeps its files: datasets/, checkpoints/, plots_checkpoints/ under one home folder.

The home is the current directory (the repository when started with `python app.py`), or
$WORKBENCH_HOME when set, which is how tests and several projects keep their files apart.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The folder holding datasets/, checkpoints/ and plots_checkpoints/."""
    return Path(os.environ.get("WORKBENCH_HOME") or Path.cwd()).resolve()


def datasets_dir() -> Path:
    return _ensure(home() / "datasets")


def checkpoints_dir() -> Path:
    return _ensure(home() / "checkpoints")


def plots_dir() -> Path:
    return _ensure(home() / "plots_checkpoints")


def db_path() -> Path:
    """The SQLite label store."""
    return datasets_dir() / "workbench.sqlite"


def db_url() -> str:
    """The label store's SQLAlchemy URL: $WORKBENCH_DB (e.g. postgresql+psycopg://...), else the SQLite file."""
    return os.environ.get("WORKBENCH_DB") or f"sqlite:///{db_path()}"


def to_stored(path: Path, base: Path | None = None) -> str:
    """Store paths under home relative to it, so a moved project keeps working (base: home, if known)."""
    p = os.path.abspath(path)
    root = str(base or home()) + os.sep
    return Path(p[len(root):]).as_posix() if p.startswith(root) else p


def from_stored(stored: str) -> Path:
    p = Path(stored)
    return p if p.is_absolute() else home() / p


def _ensure(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
