"""Loaded runs (model + eval transform) kept for reuse between events: loading a checkpoint takes seconds."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: train.runs imports torch and timm
    from workbench.train.runs import LoadedRun


class RunCache:
    """The last few loaded runs, reloaded when their checkpoint file changes (a run trained again)."""

    def __init__(self, size: int = 2):
        self.size, self._runs, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, run: str, which: str = "best") -> LoadedRun:
        """The loaded run (`workbench.train.runs.load_run`), from the cache when its checkpoint is unchanged."""
        from workbench.train.runs import load_run, run_dir

        ckpt = run_dir(run) / f"{which}.pt"
        key = (run, which, ckpt.stat().st_mtime_ns if ckpt.exists() else 0)
        with self._lock:
            if key not in self._runs:
                self._runs[key] = load_run(run, which)
                while len(self._runs) > self.size:
                    self._runs.popitem(last=False)
            self._runs.move_to_end(key)
            return self._runs[key]
