"""The label store (SQLite): datasets, images, classes, labels with history, tags and splits."""

from workbench.store.schema import DEFAULT_TAGS
from workbench.store.store import SPLITS, ImageRecord, Store

__all__ = ["DEFAULT_TAGS", "SPLITS", "ImageRecord", "Store"]
