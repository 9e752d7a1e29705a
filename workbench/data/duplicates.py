"""Exact and near duplicates among a dataset's images, as pairs and as groups (connected components), saved beside
the dataset; reviewing a group and tagging its copies.

Exact: equal decoded pixels (the hash in workbench.data.pixels, not the file's). Near: the same picture after
resizing, JPEG re-compression, a brightness change (clipped at black or white) or a shift of a few pixels, judged on
the images' 32×32 grey copies by workbench.data.near_duplicates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench import paths
from workbench.atomic import atomic_path
from workbench.data.near_duplicates import RATIO, THRESHOLD, VERSION, components, near_pairs
from workbench.data.pixels import Progress, cached_pixels, no_progress
from workbench.errors import WorkbenchError

if TYPE_CHECKING:  # annotations only
    from workbench.store import Store

EXACT, NEAR = "exact", "near"
PAIR_COLUMNS = ("a", "b", "kind", "distance")


# -- exact duplicates -------------------------------------------------------------------------
def exact_pairs(hashes: np.ndarray) -> np.ndarray:
    """(P, 2) index pairs of images with equal pixel hashes: each copy paired with the first of its hash
    (empty hashes, unreadable images, never pair)."""
    first: dict[str, int] = {}
    out = []
    for i, h in enumerate(hashes):
        if not h:
            continue
        j = first.setdefault(h, i)
        if j != i:
            out.append((j, i))
    return np.array(out, dtype=np.int64).reshape(-1, 2)



@dataclass(frozen=True)
class Found:
    """Duplicates of N images by index: pairs (P, 2) with their kind and distance, and a group per image."""

    pairs: np.ndarray
    kinds: np.ndarray
    distances: np.ndarray
    group: np.ndarray  # (N,) component label; images alone in theirs are in no group

    def group_sizes(self) -> np.ndarray:
        """(N,) size of each image's group (1: no duplicate)."""
        return np.bincount(self.group)[self.group] if len(self.group) else np.zeros(0, int)


def find_duplicates(hashes: np.ndarray, grey: np.ndarray, threshold: float = THRESHOLD, *,
                    ratio: float = RATIO) -> Found:
    """Exact pairs (equal pixel hashes) and near pairs (among one image of each exact group), grouped."""
    check_threshold(threshold)
    hashes = np.asarray(hashes, dtype=str)
    exact = exact_pairs(hashes)
    first_of_kind = (hashes != "") & ~np.isin(np.arange(len(hashes)), exact[:, 1])
    near, dist = near_pairs(grey, threshold, eligible=first_of_kind, ratio=ratio)
    pairs = np.concatenate([exact, near]).astype(np.int64).reshape(-1, 2)
    kinds = np.array([EXACT] * len(exact) + [NEAR] * len(near), dtype=object)
    distances = np.concatenate([np.zeros(len(exact)), dist]).astype(float)
    return Found(pairs, kinds, distances, components(len(hashes), pairs))


def check_threshold(threshold: float) -> float:
    """The threshold, or a WorkbenchError saying what a threshold is."""
    if not isinstance(threshold, (int, float)) or not np.isfinite(threshold) or not 0 <= threshold < 1:
        raise WorkbenchError(f"A duplicate threshold is a distance from 0 (identical up to brightness and contrast) "
                             f"to 1 (unrelated); got {threshold!r}. The default is {THRESHOLD}.")
    return float(threshold)


# -- a dataset's duplicates -------------------------------------------------------------------
@dataclass(frozen=True)
class Duplicates:
    """A dataset's duplicates: `pairs` (a, b file names; a_id, b_id; kind; distance) and `groups` (image_id, name,
    group numbered from 1, largest group first; only images that have a duplicate)."""

    dataset: str
    threshold: float
    images: int
    pairs: pd.DataFrame
    groups: pd.DataFrame = field(repr=False)

    @property
    def n_groups(self) -> int:
        """How many groups of duplicates there are."""
        return int(self.groups["group"].nunique()) if len(self.groups) else 0

    def group_of(self) -> pd.Series:
        """Group number by image_id, for the images in a group."""
        return self.groups.set_index("image_id")["group"]

    def table(self) -> pd.DataFrame:
        """The pairs as `workbench duplicates --out` writes them: a, b, kind, distance."""
        return self.pairs[list(PAIR_COLUMNS)]


def dataset_duplicates(store: Store, dataset: str, threshold: float = THRESHOLD, *,
                       progress: Progress = no_progress) -> Duplicates:
    """The duplicates of every image of `dataset` (readable ones), saved beside the dataset and reused until its
    images or the threshold change."""
    check_threshold(threshold)
    images = store.images(dataset)
    folder = paths.dataset_dir(store.home, dataset)
    key = hashlib.sha256(f"{VERSION} {threshold!r} {RATIO} ".encode() + "".join(images["sha256"]).encode())
    cache = folder / f"duplicates-{key.hexdigest()[:16]}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as f:
            found = Found(f["pairs"], f["kinds"].astype(object), f["distances"], f["group"])
    else:
        px = cached_pixels(folder, images, progress)
        progress(0.9, "comparing images")
        found = find_duplicates(px.hashes, px.grey, threshold)
        for old in folder.glob("duplicates-*.npz"):
            old.unlink(missing_ok=True)
        with atomic_path(cache) as tmp:
            np.savez(tmp, pairs=found.pairs, kinds=found.kinds.astype(str), distances=found.distances,
                     group=found.group)
    return _as_frames(dataset, threshold, images, found)


def _as_frames(dataset: str, threshold: float, images: pd.DataFrame, found: Found) -> Duplicates:
    ids, names = images["image_id"].to_numpy(), images["name"].to_numpy()
    a, b = found.pairs[:, 0], found.pairs[:, 1]
    pairs = pd.DataFrame({"a": names[a], "b": names[b], "kind": found.kinds, "distance": found.distances,
                          "a_id": ids[a], "b_id": ids[b]})
    pairs = pairs.sort_values(["kind", "distance", "a_id", "b_id"]).reset_index(drop=True)
    sizes = found.group_sizes()
    grouped = pd.DataFrame({"image_id": ids, "name": names, "label": found.group, "size": sizes})[sizes > 1]
    # number groups 1.. by size (largest first), then by their first image
    order = (grouped.groupby("label").agg(size=("size", "first"), first=("image_id", "min"))
             .sort_values(["size", "first"], ascending=[False, True]))
    number = pd.Series(np.arange(1, len(order) + 1), index=order.index)
    grouped = grouped.assign(group=grouped["label"].map(number)).sort_values(["group", "image_id"])
    return Duplicates(dataset, threshold, len(images), pairs,
                      grouped[["image_id", "name", "group"]].reset_index(drop=True))


# -- reviewing groups: look at one, tag copies ----------------------------------------------------
DUPLICATE_TAG = "duplicate"  # the category tag put on copies


def group_images(store: Store, found: Duplicates, number: int, anchor: int | None = None) -> pd.DataFrame:
    """The images of group `number` (image_id, name, path, distance: to `anchor`, by default the group's first image,
    when the two form a reported pair, NaN otherwise), in file order."""
    members = found.groups[found.groups["group"] == int(number)]
    if members.empty:
        raise WorkbenchError(f"No duplicate group {number} in {found.dataset!r} (it has {found.n_groups}).")
    paths_ = store.images(found.dataset).set_index("image_id")["path"]
    first = int(members["image_id"].iloc[0]) if anchor is None else int(anchor)
    dist = {}
    for a, b, d in zip(found.pairs["a_id"], found.pairs["b_id"], found.pairs["distance"]):
        if first in (a, b):
            dist[int(b if a == first else a)] = float(d)
    return pd.DataFrame({"image_id": members["image_id"].to_numpy(), "name": members["name"].to_numpy(),
                         "path": paths_[members["image_id"]].to_numpy(),
                         "distance": [0.0 if i == first else dist.get(int(i), np.nan) for i in members["image_id"]]})


def tag_copies(store: Store, found: Duplicates, number: int, annotator: str, keep: int | None = None) -> list[int]:
    """Put the DUPLICATE_TAG category tag on the images of group `number`, all of them or all but `keep`, in one
    transaction (the tag is added to the dataset first if it has none); the image ids tagged."""
    ids = [int(i) for i in found.groups.loc[found.groups["group"] == int(number), "image_id"]]
    if not ids:
        raise WorkbenchError(f"No duplicate group {number} in {found.dataset!r} (it has {found.n_groups}).")
    if keep is not None and int(keep) not in ids:
        raise WorkbenchError(f"Image {keep} is not in duplicate group {number}: pick one of its images to keep.")
    tagged = [i for i in ids if keep is None or i != int(keep)]
    with store.transaction():
        if DUPLICATE_TAG not in store.tags(found.dataset):
            store.add_tags(found.dataset, [DUPLICATE_TAG])
        for i in tagged:
            store.set_image_tag(i, DUPLICATE_TAG, annotator)
    return tagged
