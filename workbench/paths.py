"""Where Workbench keeps its files, as pure functions of a home folder: datasets/, checkpoints/, plots_checkpoints/.

The environment is read once, by `find_home` and `default_db`, when a Workspace (or a Store) is made at a process's
edge; the core is handed the workspace and never looks the home up itself.
"""

from __future__ import annotations

import os
from pathlib import Path

DATASETS, CHECKPOINTS, PLOTS = "datasets", "checkpoints", "plots_checkpoints"
DB_FILE = "workbench.sqlite"  # the default SQLite label store, in datasets/


def find_home(home: str | Path | None = None) -> Path:
    """`home` when given, else $WORKBENCH_HOME, else the current directory; absolute, links resolved."""
    return Path(home or os.environ.get("WORKBENCH_HOME") or Path.cwd()).expanduser().resolve()


def default_db(home: Path) -> str:
    """The label store's URL: $WORKBENCH_DB (e.g. postgresql+psycopg://...), else the SQLite file under `home`."""
    return os.environ.get("WORKBENCH_DB") or f"sqlite:///{home / DATASETS / DB_FILE}"


def dataset_dir(home: Path, dataset: str) -> Path:
    """datasets/<name>/ under `home` (made on demand): a dataset's copies, conversions and caches."""
    return ensure(dataset_path(home, dataset))


def dataset_path(home: Path, dataset: str) -> Path:
    """Where datasets/<name>/ is, made or not (an import makes it only when it writes a file there)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset).strip(".") or "dataset"
    return home / DATASETS / safe


def to_stored(path: str | Path, home: Path) -> str:
    """A path as the store keeps it: relative to `home` when below it, so a moved project keeps working."""
    p = os.path.abspath(path)
    root = str(home) + os.sep
    return Path(p[len(root):]).as_posix() if p.startswith(root) else p


def from_stored(stored: str, home: Path) -> Path:
    """The absolute path of a path the store keeps."""
    p = Path(stored)
    return p if p.is_absolute() else home / p


def ensure(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
