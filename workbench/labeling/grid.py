"""Grid mode: a page of thumbnails, many selected, one class or tag assigned to all at once.

In the "confident" order a page is a verify page: images suggested as one class, most confident first;
accepting it labels all but the ones the annotator left out, in one transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.labeling.next_step import empty_queue_message
from workbench.labeling.queue import build_queue
from workbench.labeling.suggest import PAGE_SIZE, Suggestions, verify_pages
from workbench.store import Store

VERIFY_ORDER = "confident"  # the order whose grid pages are verify pages: it needs the suggestions


@dataclass
class GridPage:
    """One page of the grid: its images with the annotator's labels, and where it is in the order."""

    page: int            # 0-based
    pages: int
    total: int
    items: pd.DataFrame  # image_id, name, path, label (this annotator's current label or None)[, confidence]
    suggested: str | None = None  # a verify page: the class its images are suggested as
    floor: float | None = None    # verify pages: the suggestion floor (images less sure are on no page)

    @property
    def image_ids(self) -> list[int]:
        return [int(i) for i in self.items["image_id"]]

    @property
    def verify(self) -> tuple[str, list[float]] | None:
        """On a verify page with images: (suggested class, each image's confidence), what accepting it takes."""
        if self.suggested is None or self.items.empty:
            return None
        return self.suggested, [float(c) for c in self.items["confidence"]]

    def summary(self, store: Store, dataset: str, annotator: str, order: str, only: str | None = None) -> str:
        """Where this page is, or why the order is empty; on a verify page, what to do with it."""
        if not self.total:
            return empty_queue_message(store, dataset, annotator, order, only)
        if self.floor is not None and self.items.empty:
            return (f"No verify page: the model is less than {self.floor:.0%} sure (the suggestion floor) of each of "
                    f"the {self.total} unlabeled images; label them in One image mode or another order.")
        where = f"Page {self.page + 1} of {self.pages} · {self.total} images in this order"
        if self.suggested is None:
            return where
        return f"Suggested as {self.suggested}: select the ones that are not, then Enter. {where}"


def grid_page(store: Store, dataset: str, annotator: str, page: int = 0, size: int = 100,
              order: str = "all", only: str | None = None, seed: int = 0,
              suggestions: Suggestions | None = None) -> GridPage:
    """One page of images in queue order, with the annotator's current labels (a verify page in "confident")."""
    if size < 1:
        raise WorkbenchError("A grid page needs at least one image.")
    if order == VERIFY_ORDER:
        return verify_page(store, dataset, annotator, page, size, suggestions)
    ids = build_queue(store, dataset, annotator or "", order, only, seed, suggestions)
    pages = max(1, math.ceil(len(ids) / size))
    page = min(max(0, int(page)), pages - 1)
    items = page_items(store, dataset, annotator, ids[page * size:(page + 1) * size])
    return GridPage(page=page, pages=pages, total=len(ids), items=items)


def page_items(store: Store, dataset: str, annotator: str, image_ids: list[int]) -> pd.DataFrame:
    """The given images (in that order) with the annotator's current labels: a page shown again after a bulk edit."""
    images = store.images(dataset).set_index("image_id")
    items = images.loc[[int(i) for i in image_ids], ["name", "path"]].reset_index()
    mine = store.latest_labels(dataset, annotator) if annotator else pd.DataFrame(columns=["image_id", "label"])
    current = dict(zip(mine["image_id"].astype(int), mine["label"]))
    items["label"] = [current.get(int(i)) for i in items["image_id"]]
    return items


def verify_page(store: Store, dataset: str, annotator: str, page: int = 0, size: int = PAGE_SIZE,
                suggestions: Suggestions | None = None, most_wrong: float | None = None,
                least_sure_first: bool = False) -> GridPage:
    """Page `page` of the verify pages: unlabeled images suggested as one class, with their confidence
    (`most_wrong`, `least_sure_first`: see suggest.verify_pages)."""
    if suggestions is None:
        raise WorkbenchError("No suggestions yet: label at least a few images of every class first.")
    ids = build_queue(store, dataset, annotator or "", "unlabeled")
    pages = verify_pages(suggestions, ids, size, most_wrong=most_wrong, least_sure_first=least_sure_first)
    pages = pages or [(None, [])]
    page = min(max(0, int(page)), len(pages) - 1)
    cls, chosen = pages[page]
    items = page_items(store, dataset, annotator, chosen)
    if cls is not None:
        _, rows = suggestions.rows(chosen)
        items["confidence"] = suggestions.probs[rows, suggestions.classes.index(cls)]
    return GridPage(page=page, pages=len(pages), total=len(ids), items=items, suggested=cls, floor=suggestions.floor)


def accept_page(store: Store, dataset: str, annotator: str, cls: str, items: list[tuple[int, float | None]],
                left_out: list[int] = (), corrected: dict[int, str] | None = None) -> int:
    """Label a verify page as `cls` (one transaction, provenance "page" with each image's confidence), all but
    the images left out; `corrected` images (given their class with a key on the page) are labelled as typed
    in the same transaction. Returns how many labels were written."""
    fixed = {int(i): c for i, c in (corrected or {}).items()}
    left = {int(i) for i in left_out} | set(fixed)
    keep = [(int(i), cls, c) for i, c in items if int(i) not in left]
    _check(store, dataset, [i for i, _, _ in keep] + list(fixed) or [i for i, _ in items], annotator)
    classes = store.classes(dataset)
    unknown = sorted({cls, *fixed.values()} - set(classes))
    if unknown:
        raise WorkbenchError(f"Dataset {dataset!r} has no class {unknown[0]!r}.")
    if not set(fixed) <= {int(i) for i, _ in items}:
        raise WorkbenchError("A corrected image is not on this page.")
    with store.transaction():  # add_labels joins this outer transaction: the page and its corrections, or nothing
        n = store.add_labels(dataset, keep, annotator, source="page") if keep else 0
        if fixed:
            n += store.add_labels(dataset, list(fixed.items()), annotator, source="typed")
    return n


def bulk_label(store: Store, dataset: str, image_ids: list[int], class_name: str, annotator: str) -> int:
    """Give all selected images one class in a single transaction; returns how many labels changed."""
    _check(store, dataset, image_ids, annotator)
    if class_name not in store.classes(dataset):
        raise WorkbenchError(f"Dataset {dataset!r} has no class {class_name!r}.")
    return store.add_labels(dataset, [(int(i), class_name) for i in image_ids], annotator)


def bulk_tag(store: Store, dataset: str, image_ids: list[int], tag: str, annotator: str, on: bool = True) -> int:
    """Put one tag on (or take it off) all selected images in a single transaction."""
    _check(store, dataset, image_ids, annotator)
    if tag not in store.tags(dataset):
        raise WorkbenchError(f"Dataset {dataset!r} has no tag {tag!r}.")
    with store.transaction():  # set_image_tag joins this outer transaction: all or nothing
        for i in image_ids:
            store.set_image_tag(int(i), tag, annotator, on)
    return len(image_ids)


def toggle(selected: list[int] | None, image_id: int | None, page: list[int]) -> list[int]:
    """The selection after a click (or key) on `image_id`: in if it was out, out if it was in; an id that is not on
    the page changes nothing."""
    selected = [int(i) for i in selected or []]
    if image_id is None or int(image_id) not in page:
        return selected
    image_id = int(image_id)
    return [i for i in selected if i != image_id] if image_id in selected else selected + [image_id]


def correct(fixed: dict[int, str] | None, image_id: int | None, cls: str | None, suggested: str,
            page: list[int]) -> dict[int, str]:
    """The corrections of a verify page after a class key on `image_id`: given `cls`, or none again when `cls` is
    the page's `suggested` class (or no class); an id that is not on the page changes nothing."""
    fixed = {int(i): c for i, c in (fixed or {}).items()}
    if image_id is None or int(image_id) not in page:
        return fixed
    if cls is None or cls == suggested:
        fixed.pop(int(image_id), None)
    else:
        fixed[int(image_id)] = cls
    return fixed


def _check(store: Store, dataset: str, image_ids: list[int], annotator: str) -> None:
    if not (annotator or "").strip():
        raise WorkbenchError("Give an annotator name before labelling.")
    if not image_ids:
        raise WorkbenchError("Select at least one image first.")
    known = set(store.images(dataset)["image_id"].astype(int))
    stray = [i for i in image_ids if int(i) not in known]
    if stray:
        raise WorkbenchError(f"Images {stray[:5]} are not in dataset {dataset!r}.")
