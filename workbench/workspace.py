"""One project's place on disk and its label store, found once and passed in (instead of hidden defaults).

A Workspace is the home folder (datasets/, checkpoints/, plots_checkpoints/) and the Store. The home is
resolved once, when the workspace is made: from an argument, else $WORKBENCH_HOME, else the current directory.
Where its runs are also tracked (an MLflow URI) is resolved then too: an argument, else $WORKBENCH_MLFLOW.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from workbench.paths import CHECKPOINTS, DATASETS, DB_FILE, PLOTS, default_db, ensure, find_home, from_stored, to_stored
from workbench.run import Run
from workbench.store import Store


@dataclass(eq=False)
class Workspace:
    """A home folder and its label store.

    `db` is the store's URL (or SQLite file); the store is opened, and migrated, on first use of `store`, so a
    command that refuses its options, or needs no labels, never creates a database. `mlflow`: the MLflow tracking
    URI its runs are logged to besides their own folder (None: TensorBoard files only).
    """

    home: Path
    db: str
    _store: Store | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    mlflow: str | None = None

    @classmethod
    def open(cls, home: str | Path | None = None, db: str | Path | None = None, mlflow: str | None = None) -> Workspace:
        """The workspace at `home` (else $WORKBENCH_HOME, else the current directory) with the label store `db`
        (a URL or SQLite file; else $WORKBENCH_DB, else datasets/workbench.sqlite under the home); runs tracked in
        MLflow at `mlflow` (else $WORKBENCH_MLFLOW, else not)."""
        root = find_home(home)
        return cls(root, str(db or default_db(root)), mlflow=mlflow or _mlflow_from_env())

    @classmethod
    def around(cls, store: Store, home: str | Path | None = None) -> Workspace:
        """The workspace of a store that is already open; its home: `home`, else the store's, else as open()'s."""
        return cls(find_home(home or store.home), store.url.render_as_string(hide_password=False), store,
                   mlflow=_mlflow_from_env())

    @property
    def store(self) -> Store:
        """The label store (opened on first use; one Store per workspace, shared by all its users)."""
        with self._lock:  # two threads' first use must not open two stores
            if self._store is None:
                self._store = Store(self.db, home=self.home)
            return self._store

    @property
    def datasets(self) -> Path:
        """datasets/: imported and converted image files, and the default SQLite store (made on demand)."""
        return ensure(self.home / DATASETS)

    @property
    def checkpoints(self) -> Path:
        """checkpoints/: one folder per training run (made on demand)."""
        return ensure(self.home / CHECKPOINTS)

    @property
    def plots(self) -> Path:
        """plots_checkpoints/: the runs' training curves, the one run folder the app serves (made on demand)."""
        return ensure(self.home / PLOTS)

    def run_folder(self, run: str) -> Path:
        """checkpoints/<run>/, whether or not the run exists (`run` checks names and opens runs)."""
        return self.checkpoints / run

    def run(self, name: str) -> Run:
        """The run `name` ("last" or "latest": the newest run), opened once and passed in; a WorkbenchError naming
        recent runs when there is no such run."""
        return Run.open(self, name)

    def plot_folder(self, name: str) -> Path:
        """plots_checkpoints/<name>/: a run's or a comparison's curves."""
        return self.plots / name

    @property
    def db_file(self) -> Path:
        """Where the default SQLite store lives (whether or not this workspace's store is it)."""
        return self.home / DATASETS / DB_FILE

    def to_stored(self, path: str | Path) -> str:
        """A path as the store keeps it: relative to the home when below it, so a moved project keeps working."""
        return to_stored(path, self.home)

    def from_stored(self, stored: str) -> Path:
        """The absolute path of a path the store keeps."""
        return from_stored(stored, self.home)

    def close(self) -> None:
        """Close the store's connections, if it was opened."""
        with self._lock:
            if self._store is not None:
                self._store.close()


def _mlflow_from_env() -> str | None:
    return os.environ.get("WORKBENCH_MLFLOW") or None
