"""The order in which an annotator sees images: unlabeled first, seeded random, by suggestion (uncertain or
confident first), or one tag / one class / accepted suggestions for review (the orders: labeling.orders)."""

from __future__ import annotations

import numpy as np

from workbench.errors import WorkbenchError
from workbench.labeling.orders import ONLY_ORDERS, ORDERS, SUGGESTED_ORDERS, UNLABELED_ORDERS
from workbench.labeling.similar import representative_order, similar_order
from workbench.labeling.suggest import Suggestions, confident_first, uncertain_first
from workbench.store import Store

__all__ = ["ONLY_ORDERS", "ORDERS", "SUGGESTED_ORDERS", "UNLABELED_ORDERS", "accepted_order", "build_queue",
           "only_filter"]


def only_filter(order: str, only: str | None) -> str | None:
    """The `only` filter as `order` takes it: the tag or class for the ONLY_ORDERS, None for the others
    (a tag picked for a review order is ignored when the order changes)."""
    return (only or None) if order in ONLY_ORDERS else None


def build_queue(store: Store, dataset: str, annotator: str, order: str = "unlabeled",
                only: str | None = None, seed: int = 0, suggestions: Suggestions | None = None) -> list[int]:
    """Image ids in the order to show them to `annotator` (suggestions rank the suggested orders)."""
    if order not in ORDERS:
        raise WorkbenchError(f"Unknown queue order {order!r}; choose one of {', '.join(ORDERS)}.")
    images = store.images(dataset)
    ids = [int(i) for i in images["image_id"]]
    if order in UNLABELED_ORDERS:
        mine = set(store.latest_labels(dataset, annotator)["image_id"].astype(int))
        if order == "similar":  # clustered over all images, so the order stays put as labels come in
            ids = similar_order(store, dataset, seed)
        elif order == "representative":
            ids = representative_order(store, dataset, seed)
        ids = [i for i in ids if i not in mine]
        if order == "random":
            ids = [ids[k] for k in np.random.default_rng(seed).permutation(len(ids))]
        if order in SUGGESTED_ORDERS and suggestions is not None:
            ids = (uncertain_first if order == "uncertain" else confident_first)(suggestions, ids)
        return ids
    if order == "all":
        return ids
    if order == "accepted":
        return accepted_order(store, dataset)
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


def accepted_order(store: Store, dataset: str) -> list[int]:
    """Images whose current label (any annotator) is an accepted suggestion or page, least confident first."""
    cur = store.latest_labels(dataset)
    cur = cur[cur["source"].isin(("accepted", "page"))]
    cur = cur.assign(c=cur["confidence"].fillna(0.0)).sort_values(["c", "image_id"], kind="stable")
    return list(dict.fromkeys(int(i) for i in cur["image_id"]))
