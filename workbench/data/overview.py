"""Tables that describe datasets at a glance: counts per class, per tag, per quality category."""

from __future__ import annotations

import pandas as pd

from workbench.data.quality import dataset_quality
from workbench.store import Store


COUNT_COLUMNS = ("kind", "name", "images")  # counts(): one row per class, tag and quality category


def overview(store: Store) -> pd.DataFrame:
    """One row per dataset: images, labelled, classes with counts, tags with counts (every class and tag of the set,
    images labelled or tagged so far, 0 included)."""
    rows = []
    for name in store.datasets():
        s = store.summary(name)
        rows.append({
            "dataset": name,
            "images": s["images"],
            "labelled": s["labelled"],
            "classes": _classes(store, name, s),
            "tags": ", ".join(f"{t} ({n})" for t, n in s["per_tag"].items()) or "(none)",  # like classes: 0 too
        })
    return pd.DataFrame(rows, columns=["dataset", "images", "labelled", "classes", "tags"])


def _classes(store: Store, dataset: str, s: dict) -> str:
    """Image classes with their counts, then box classes with their box counts (a detection set has only these)."""
    text = ", ".join(f"{c} ({n})" for c, n in s["per_class"].items())
    box_classes = store.box_classes(dataset)
    if box_classes:
        n = store.boxes(dataset).label.value_counts()
        text += ("; " if text else "") + "boxes: " + ", ".join(f"{c} ({int(n.get(c, 0))})" for c in box_classes)
    return text or "(none yet)"


def _box_counts(store: Store, dataset: str) -> list[tuple[str, str, int]]:
    """Rows (kind, name, images) for a set's boxes: images boxed, and images holding each box class."""
    classes = store.box_classes(dataset)
    if not classes:
        return []
    boxes = store.boxes(dataset)
    per = boxes.groupby("label").image_id.nunique()
    return ([("boxes", "(images boxed)", len(store.boxed_images(dataset)))]
            + [("box class", c, int(per.get(c, 0))) for c in classes])


def counts(store: Store, dataset: str) -> pd.DataFrame:
    """Long table (kind, name, images) of counts per class, per box class, per tag and per automatic quality category
    (each relative to the set: data.quality)."""
    s = store.summary(dataset)
    q = dataset_quality(store, dataset).counts()
    rows = ([("class", c, n) for c, n in s["per_class"].items()]
            + [("class", "(unlabelled)", s["images"] - s["labelled"])]
            + _box_counts(store, dataset)
            + [("tag", t, n) for t, n in s["per_tag"].items()]
            + [("quality", c, int(n)) for c, n in q.items()])
    return pd.DataFrame(rows, columns=list(COUNT_COLUMNS))


def preview(store: Store, dataset: str, page: int | float | None, per_page: int) -> list[tuple[str, str]]:
    """(path, name) of the images on 1-based `page` of `dataset` in stored order (page 1 when none or below 1)."""
    start = (max(int(page or 1), 1) - 1) * per_page
    part = store.images(dataset).iloc[start:start + per_page]
    return list(zip(part["path"], part["name"]))


def keep_or_first(names: list[str], current: str | None) -> str | None:
    """The dataset to show after the list changed: `current` while it exists, else the first (None if none)."""
    return current if current in names else (names[0] if names else None)
