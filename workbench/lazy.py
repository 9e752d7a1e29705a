"""Modules imported on first use: how the app and the CLI name heavy modules at their top yet start quickly.

The convention (issue 18's quick start; tests/test_quick_start.py checks it, tests/test_imports.py walks these too):
- ui/ and cli/ modules declare the heavy core modules their handlers and commands call at their top,
  `evaluation = lazy_import("workbench.evaluate.evaluate")`, and call `evaluation.evaluate_run(...)`;
- a light core module (one the first page or `workbench --help` imports) that needs a heavy library on one path
  declares it the same way, with a comment giving the reason: `ndimage = lazy_import("scipy.ndimage")`;
- everything else imports at the top as usual. Handlers' annotations name only light modules' types: gradio resolves
  them when the app is built.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class _LazyModule(ModuleType):
    """Stands in for a module until one of its attributes is read; then imports it (once: sys.modules keeps it)."""

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self.__name__), attr)


def lazy_import(name: str) -> ModuleType:
    """The module `name`, imported when an attribute of it is first read (torch, timm, sklearn: seconds at start-up)."""
    return _LazyModule(name)
