"""Modules imported on first use: how the app and the CLI name heavy core modules at their top yet start quickly."""

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
