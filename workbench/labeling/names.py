"""A dataset's classes and tags as a user types them: comma-separated names, checked before the store sees them."""

from __future__ import annotations

from workbench.errors import WorkbenchError
from workbench.store import Store


def split_names(text: str | None) -> list[str]:
    """Names from "open, closed,": stripped, empty ones dropped."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def add_classes(store: Store, dataset: str | None, text: str | None) -> list[str]:
    """Append the typed classes to the dataset's (existing ones keep their index); returns all classes."""
    _need_dataset(dataset)
    names = split_names(text)
    if not names:
        raise WorkbenchError("Type class names separated by commas.")
    return store.add_classes(dataset, names)


def add_tags(store: Store, dataset: str | None, text: str | None) -> list[str]:
    """Append the typed tags to the dataset's; returns all tags."""
    _need_dataset(dataset)
    return store.add_tags(dataset, split_names(text))


def remove_tag(store: Store, dataset: str | None, tag: str | None) -> list[str]:
    """Remove a tag and its assignments; returns the tags left."""
    if not dataset or not tag:
        raise WorkbenchError("Pick a dataset and a tag first.")
    return store.remove_tag(dataset, tag)


def _need_dataset(dataset: str | None) -> None:
    if not dataset:
        raise WorkbenchError("Pick a dataset first.")
