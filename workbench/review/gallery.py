"""Paged error galleries: thumbnails as file paths, captions with true/predicted class and confidence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import pandas as pd

# Given the visible rows, return one image path per row (e.g. cached CAM overlays); None shows the images.
ThumbFn = Callable[[pd.DataFrame], Sequence[str]]


@dataclass
class GalleryPage:
    """One page of a gallery, ready for gr.Gallery: items are (file path, caption)."""

    items: list[tuple[str, str]] = field(default_factory=list)
    image_ids: list[int] = field(default_factory=list)
    page: int = 0
    pages: int = 0
    total: int = 0

    @property
    def empty(self) -> bool:
        """No misclassified images at all (not just on this page)."""
        return self.total == 0

    def label(self) -> str:
        """The line shown under the gallery: page, pages and images, or that there are none."""
        if self.empty:
            return "No misclassified images here."
        return f"Page {self.page + 1} of {self.pages} · {self.total} image(s)"


def caption(row: tuple, classes: Sequence[str]) -> str:
    """The image's file name, 'true: A', 'pred: B (97%)' on three lines, for a predictions row (a namedtuple of
    `itertuples`; '#id' where the row has no `name`): each on a line of its own, so none is cut off."""
    name = getattr(row, "name", None)
    first = name if isinstance(name, str) and name else f"#{int(row.image_id)}"
    return (f"{first}\ntrue: {classes[int(row.y_true)]}\n"
            f"pred: {classes[int(row.y_pred)]} ({row.confidence:.0%})")


def gallery_page(rows: pd.DataFrame, classes: Sequence[str], page: int = 0, page_size: int = 48,
                 thumbs: ThumbFn | None = None) -> GalleryPage:
    """Page `page` (clamped to the valid range) of `rows`; only the visible rows reach `thumbs`."""
    total = len(rows)
    if total == 0:
        return GalleryPage()
    page_size = max(1, int(page_size))
    pages = math.ceil(total / page_size)
    page = min(max(0, int(page)), pages - 1)
    visible = rows.iloc[page * page_size:(page + 1) * page_size]
    files = list(thumbs(visible)) if thumbs else visible["path"].tolist()
    items = [(f, caption(r, classes)) for f, r in zip(files, visible.itertuples(index=False))]
    return GalleryPage(items, [int(i) for i in visible["image_id"]], page, pages, total)
