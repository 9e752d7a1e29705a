"""The label store (SQLite or PostgreSQL through SQLAlchemy Core): datasets, images, classes, labels with history
and provenance, tags, splits and boxes; schema migrations with Alembic."""

from workbench.store.boxes import BOX_COLUMNS, box_problem
from workbench.store.schema import BOX_SOURCES, DEFAULT_TAGS, LABEL_SOURCES, TASKS
from workbench.store.store import SPLITS, ImageRecord, Store

__all__ = ["BOX_COLUMNS", "BOX_SOURCES", "DEFAULT_TAGS", "LABEL_SOURCES", "TASKS", "box_problem", "SPLITS", "ImageRecord", "Store"]
