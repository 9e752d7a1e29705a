"""Loaded runs (model + eval transform) kept for reuse between events: loading a checkpoint takes seconds."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from workbench.lazy import lazy_import
from workbench.run import Run

if TYPE_CHECKING:  # annotations only: the loaded kinds of run
    from workbench.detect.model import LoadedDetector
    from workbench.train.runs import LoadedRun

# the app holds its cache from the start; torch is imported when the first run is loaded
tasks = lazy_import("workbench.train.tasks")


class RunCache:
    """The last few loaded runs, reloaded when their checkpoint file changes (a run trained again)."""

    def __init__(self, size: int = 2):
        self.size, self._runs, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, run: Run, which: str = "best") -> LoadedRun | LoadedDetector:
        """The loaded run (`workbench.train.tasks.load_trained`: a classifier's, or a detector's), from the cache when
        its checkpoint is unchanged."""
        key = (run.folder, which, run.checkpoint_stamp(which))
        with self._lock:
            if key not in self._runs:
                self._runs[key] = tasks.load_trained(run, which)
                while len(self._runs) > self.size:
                    self._runs.popitem(last=False)
            self._runs.move_to_end(key)
            return self._runs[key]
