"""Loaded runs (model + eval transform) kept for reuse between events: loading a checkpoint takes seconds."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: train.runs imports torch and timm
    from workbench.detect.model import LoadedDetector
    from workbench.train.runs import LoadedRun
    from workbench.workspace import Workspace


class RunCache:
    """The last few loaded runs of the workspace `ws`, reloaded when their checkpoint file changes (a run trained
    again)."""

    def __init__(self, ws: Workspace, size: int = 2):
        self.ws, self.size, self._runs, self._lock = ws, size, OrderedDict(), threading.Lock()

    def get(self, run: str, which: str = "best") -> LoadedRun | LoadedDetector:
        """The loaded run (`workbench.train.tasks.load_trained`: a classifier, or a detector), from the cache when its
        checkpoint is unchanged."""
        from workbench.train.runs import run_dir
        from workbench.train.tasks import load_trained

        ckpt = run_dir(self.ws, run) / f"{which}.pt"
        key = (run, which, ckpt.stat().st_mtime_ns if ckpt.exists() else 0)
        with self._lock:
            if key not in self._runs:
                self._runs[key] = load_trained(self.ws, run, which)
                while len(self._runs) > self.size:
                    self._runs.popitem(last=False)
            self._runs.move_to_end(key)
            return self._runs[key]
