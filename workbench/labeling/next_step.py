"""What the Label tab offers when there is nothing to label: which set to open, and what to do once a queue is empty."""

from __future__ import annotations

from workbench.labeling.queue import UNLABELED_ORDERS
from workbench.store import Store


def unlabeled_count(store: Store, dataset: str, annotator: str | None = None) -> int:
    """Images of `dataset` without a label from `annotator` (from anyone when no annotator is given)."""
    labelled = store.latest_labels(dataset, annotator or None)["image_id"].nunique()
    return store.count_images(dataset) - int(labelled)


def first_dataset_to_label(store: Store, annotator: str | None = None) -> str | None:
    """The first dataset (in import order) with unlabeled images, else the first dataset, else None."""
    names = store.datasets()
    return next((d for d in names if unlabeled_count(store, d, annotator) > 0), names[0] if names else None)


def last_worked_on(store: Store, annotator: str | None) -> str | None:
    """The dataset holding `annotator`'s newest label, or None when they have labelled nothing."""
    if not annotator:
        return None
    newest = {}
    for d in store.datasets():
        mine = store.latest_labels(d, annotator)
        if len(mine):
            newest[d] = float(mine["created_at"].max())
    return max(newest, key=newest.get) if newest else None


def dataset_to_open(store: Store, annotator: str | None = None) -> str | None:
    """Where a labelling page opens: the set `annotator` last worked on, else the first with images to label."""
    return last_worked_on(store, annotator) or first_dataset_to_label(store, annotator)


def empty_queue_message(store: Store, dataset: str, annotator: str, order: str, only: str | None = None) -> str:
    """Why the queue (or grid) of this order is empty, and the next step."""
    total = store.count_images(dataset)
    if total == 0:
        return f"Dataset {dataset!r} has no images yet: import some in the Datasets tab."
    if order in UNLABELED_ORDERS:
        left = unlabeled_count(store, dataset, annotator)
        if left == 0:
            return (f"All {total} images are labelled — train a model in the Experiments tab, "
                    "or pick the 'all' order to review them.")
        return (f"{left} of {total} images are still unlabeled (skipped or missing on disk): press Start to go "
                "through them again, or train a model in the Experiments tab on the labelled ones.")
    if order == "tag":
        return f"No image carries the tag {only!r}: pick another tag, or tag images while labelling (letter keys)."
    if order == "class":
        return f"No image is labelled {only!r} yet: pick another class, or label images in the 'unlabeled' order."
    return f"No image in the {order!r} order: pick the 'unlabeled' or 'all' order."
