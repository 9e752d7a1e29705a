"""Train/val/test splits: seeded, stratified by label, and every group of duplicates on one side.

The allocation is pure functions on DataFrames (`split_groups`, `allocate`); `splits` reads the store, allocates the
images labelled since the last call and writes them (the store keeps the rows: one INSERT ... ON CONFLICT DO NOTHING,
so a concurrent caller's assignment stands). Assignments are sticky: an image keeps its side when others are labelled
later, so the test set of an experiment stays its test set, with one exception: when a group of duplicates (exact, or
near ones found by workbench.data.duplicates) has members on two sides, they move to the side holding most of them
(ties: the side of the group's first image), since a copy in train of a test image inflates every test metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.data.duplicates import THRESHOLD, components, dataset_duplicates
from workbench.store import SPLITS

if TYPE_CHECKING:  # annotations only
    from workbench.store import Store

DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


def split_groups(images: pd.DataFrame, pairs: pd.DataFrame | None = None) -> pd.Series:
    """Group number by image_id (images: image_id, sha256; pairs: a_id, b_id of duplicates): files with equal content,
    and images linked by a duplicate pair, share a group; every other image is a group of its own."""
    ids = images["image_id"].to_numpy()
    at = pd.Series(np.arange(len(ids)), index=ids)
    first = images.groupby("sha256", sort=False)["image_id"].transform("first").to_numpy()
    links = [np.stack([at[first].to_numpy(), np.arange(len(ids))], 1)]
    if pairs is not None and len(pairs):
        known = pairs["a_id"].isin(at.index) & pairs["b_id"].isin(at.index)
        links.append(np.stack([at[pairs.loc[known, "a_id"]].to_numpy(), at[pairs.loc[known, "b_id"]].to_numpy()], 1))
    return pd.Series(components(len(ids), np.concatenate(links)), index=ids, name="group")


@dataclass(frozen=True)
class Allocation:
    """What `allocate` decided: a side for each image that had none, and new sides for images moved to their group's."""

    new: pd.Series  # split by image_id
    moved: pd.Series  # split by image_id


def allocate(images: pd.DataFrame, seed: int, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> Allocation:
    """Sides for `images` (image_id, label, position, group, split: None where not yet assigned).

    Groups split across sides move to their majority side; a new image joins its group's side; the remaining new
    groups go, one label at a time in a seeded order, to the side furthest below its share (greedy stratification).
    """
    imgs = images.copy()
    had_none = imgs["split"].isna()
    now = imgs["group"].map(_group_sides(imgs)).astype(object)
    moved = now[~had_none & (now != imgs["split"])]
    imgs["split"] = now
    alone = imgs[imgs["split"].isna()]
    if len(alone):
        imgs.loc[alone.index, "split"] = _stratified(imgs, alone, seed, fractions)
    ids = imgs["image_id"]
    return Allocation(new=pd.Series(imgs.loc[had_none, "split"].to_numpy(), index=ids[had_none].to_numpy(),
                                    dtype=object),
                      moved=pd.Series(moved.to_numpy(), index=ids[moved.index].to_numpy(), dtype=object))


def _group_sides(imgs: pd.DataFrame) -> pd.Series:
    """The side of each group with an assigned member: where most of them are (ties: its first image's side)."""
    done = imgs[imgs["split"].notna()]
    if done.empty:
        return pd.Series(dtype=object)
    count = done.groupby(["group", "split"]).size().rename("n").reset_index()
    first = done.sort_values(["position", "image_id"]).drop_duplicates("group").set_index("group")["split"]
    count["first"] = count["split"].to_numpy() == count["group"].map(first).to_numpy()
    best = count.sort_values(["group", "n", "first"], ascending=[True, False, False]).drop_duplicates("group")
    return best.set_index("group")["split"]


def _stratified(all_imgs: pd.DataFrame, new: pd.DataFrame, seed: int,
                fractions: tuple[float, float, float]) -> pd.Series:
    """Greedy stratified allocation of new groups to the split furthest below its target."""
    frac = np.asarray(fractions, dtype=float) / sum(fractions)
    # one label per group: its most common label (ties: the first in sort order)
    votes = new.groupby(["group", "label"]).size().reset_index(name="n")
    votes = votes.sort_values(["group", "n", "label"], ascending=[True, False, True]).drop_duplicates("group")
    groups = votes.set_index("group")[["label"]]
    groups["first"] = new.groupby("group")["position"].min()
    groups["size"] = new.groupby("group").size()
    groups = groups.sort_values("first")
    done = all_imgs[all_imgs["split"].notna()].groupby(["label", "split"]).size()
    rng = np.random.default_rng(seed)
    out = {}
    for label, g in groups.groupby("label", sort=True):
        have = np.array([done.get((label, s), 0) for s in SPLITS], dtype=float)
        order = rng.permutation(len(g))
        keys, sizes = g.index.to_numpy()[order], g["size"].to_numpy()[order]
        target = frac * (have.sum() + sizes.sum())
        for key, n in zip(keys, sizes):
            k = int(np.argmax(target - have))
            out[key] = SPLITS[k]
            have[k] += n
    return new["group"].map(out)


# -- on a dataset in the store ----------------------------------------------------------------
def splits(store: Store, dataset: str, seed: int = 0, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
           *, threshold: float = THRESHOLD, labels: pd.Series | None = None) -> pd.DataFrame:
    """image_id, label, split, group (duplicate group number, shared by duplicates; NaN for an image without one) of
    every labelled image, for this seed: the stored sides, with new images allocated and split groups mended.

    `labels` (image_id -> the label to stratify by) splits other images than the labelled ones: detection splits its
    boxed images by each one's main box class. The sides are one table per dataset and seed, so an image keeps its
    side whichever task asks."""
    labels = store.resolved_labels(dataset) if labels is None else labels
    images = store.images(dataset)
    dup = dataset_duplicates(store, dataset, threshold)
    group = split_groups(images, dup.pairs)
    imgs = images.loc[images["image_id"].isin(labels.index), ["image_id", "position"]].copy()
    imgs["label"] = imgs["image_id"].map(labels)
    imgs["group"] = imgs["image_id"].map(group)
    imgs = imgs.merge(store.assigned_splits(dataset, seed), on="image_id", how="left")
    plan = allocate(imgs, seed, fractions)
    with store.transaction():
        store.move_splits(dataset, seed, plan.moved.to_dict())
        written = store.add_splits(dataset, seed, plan.new.to_dict())
    if written != len(plan.new):
        imgs = imgs.drop(columns="split").merge(store.assigned_splits(dataset, seed), on="image_id")  # lost a race
    else:
        imgs["split"] = imgs["split"].where(~imgs["image_id"].isin(plan.moved.index),
                                            imgs["image_id"].map(plan.moved))
        imgs["split"] = imgs["split"].fillna(imgs["image_id"].map(plan.new))
    grouped = dup.group_of()
    out = imgs[["image_id", "label", "split"]].astype({"split": str})
    out["group"] = out["image_id"].map(grouped)
    return out.sort_values("image_id").reset_index(drop=True)


def labelled(store: Store, dataset: str, seed: int = 0) -> pd.DataFrame:
    """Labelled images with path, label, class index, split, duplicate group and quality stats: what training reads."""
    df = store.images(dataset).merge(splits(store, dataset, seed), on="image_id")
    index = {c: i for i, c in enumerate(store.classes(dataset))}
    df["y"] = df["label"].map(index).astype(int)
    return df.sort_values("position").reset_index(drop=True)


def groups_kept(df: pd.DataFrame) -> dict:
    """How many duplicate groups a split table (split, group) holds, over how many images, and how many of them lie
    on one side (all, once `splits` has mended them): what a run records."""
    grouped = df.dropna(subset=["group"])
    sides = grouped.groupby("group")["split"].nunique()
    return {"groups": int(len(sides)), "images": int(len(grouped)), "kept_together": int((sides == 1).sum())}


def kept_note(kept: dict) -> str:
    """One line for a run's progress: the duplicate groups (`groups_kept`) its split kept on one side."""
    if not kept["groups"]:
        return "split: no duplicates among the labelled images"
    return (f"split: {kept['kept_together']} of {kept['groups']} duplicate group(s) ({kept['images']} images) "
            f"kept on one side")
