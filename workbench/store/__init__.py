"""The label store (SQLite or PostgreSQL through SQLAlchemy Core): datasets, images, classes, labels with history
and provenance, tags and splits; schema migrations with Alembic."""

from workbench.store.schema import DEFAULT_TAGS, LABEL_SOURCES
from workbench.store.store import SPLITS, ImageRecord, Store

__all__ = ["DEFAULT_TAGS", "LABEL_SOURCES", "SPLITS", "ImageRecord", "Store"]
