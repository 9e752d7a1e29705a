"""The order in which an annotator sees images: unlabeled first, seeded random, or one tag / one class for review."""

from __future__ import annotations

import numpy as np

from workbench.errors import WorkbenchError
from workbench.labeling.similar import similar_order
from workbench.store import Store

ORDERS = {
    "unlabeled": "Unlabeled images, in file order",
    "random": "Unlabeled images, in a seeded random order",
    "similar": "Unlabeled images, look-alikes together (for the grid)",
    "all": "Every image, in file order",
    "tag": "Only images carrying one tag (review)",
    "class": "Only images currently labelled as one class (review)",
}


# orders of images the annotator has not labelled yet: an image labelled meanwhile leaves them
UNLABELED_ORDERS = ("unlabeled", "random", "similar")


def build_queue(store: Store, dataset: str, annotator: str, order: str = "unlabeled",
                only: str | None = None, seed: int = 0) -> list[int]:
    """Image ids in the order to show them to `annotator`."""
    if order not in ORDERS:
        raise WorkbenchError(f"Unknown queue order {order!r}; choose one of {', '.join(ORDERS)}.")
    images = store.images(dataset)
    ids = [int(i) for i in images["image_id"]]
    if order in UNLABELED_ORDERS:
        mine = set(store.latest_labels(dataset, annotator)["image_id"].astype(int))
        if order == "similar":  # clustered over all images, so the order stays put as labels come in
            ids = similar_order(store, dataset, seed)
        ids = [i for i in ids if i not in mine]
        if order == "random":
            ids = [ids[k] for k in np.random.default_rng(seed).permutation(len(ids))]
        return ids
    if order == "all":
        return ids
    if not only:
        raise WorkbenchError(f"Order {order!r} needs a {order} to show.")
    if order == "tag":
        if only not in store.tags(dataset):
            raise WorkbenchError(f"Dataset {dataset!r} has no tag {only!r}.")
        tagged = store.image_tags(dataset)
        keep = set(tagged.loc[tagged["tag"] == only, "image_id"].astype(int))
    else:
        if only not in store.classes(dataset):
            raise WorkbenchError(f"Dataset {dataset!r} has no class {only!r}.")
        labels = store.resolved_labels(dataset)
        keep = set(int(i) for i in labels.index[labels == only])
    return [i for i in ids if i in keep]
