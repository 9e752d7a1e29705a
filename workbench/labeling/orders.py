"""The queue orders an annotator can pick, and what each is built on: one row per order decides its filters and
whether blind labelling (annotators never see each other's work) allows it.

Plain data, no store and no model: the access policy (workbench.access) reads it as well as the queue.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Order:
    """One queue order: its name, what the user reads, and what it is built on."""

    name: str
    description: str
    unlabeled: bool = False   # only images the annotator has not labelled yet (an image labelled meanwhile leaves)
    suggested: bool = False   # ranked by the annotator's own suggestions (file order until the first ones exist)
    only: bool = False        # shows the images of one tag or class: takes the `only` filter
    # picked by other annotators' work (their labels, tags or accepted suggestions): closed in blind labelling
    by_others: bool = False


ORDER_TABLE = (
    Order("unlabeled", "Unlabeled images, in file order", unlabeled=True),
    Order("random", "Unlabeled images, in a seeded random order", unlabeled=True),
    Order("similar", "Unlabeled images, look-alikes together (for the grid)", unlabeled=True),
    Order("representative", "Unlabeled images, one of each kind first (cluster representatives: first labels)",
          unlabeled=True),
    Order("uncertain", "Unlabeled images, the model's least sure first (suggestions)", unlabeled=True, suggested=True),
    Order("confident", "Unlabeled images by suggested class, most confident first (verify pages)", unlabeled=True,
          suggested=True),
    Order("all", "Every image, in file order"),
    # everyone's tags, and labels resolved by majority over all annotators
    Order("tag", "Only images carrying one tag (review)", only=True, by_others=True),
    Order("class", "Only images currently labelled as one class (review)", only=True, by_others=True),
    # any annotator's accepted suggestions and verify pages
    Order("accepted", "Accepted suggestions, least confident first (review)", by_others=True),
)

ORDERS = {o.name: o.description for o in ORDER_TABLE}
UNLABELED_ORDERS = tuple(o.name for o in ORDER_TABLE if o.unlabeled)
SUGGESTED_ORDERS = tuple(o.name for o in ORDER_TABLE if o.suggested)
ONLY_ORDERS = tuple(o.name for o in ORDER_TABLE if o.only)
ORDERS_BY_OTHERS = frozenset(o.name for o in ORDER_TABLE if o.by_others)
