"""The label store: label history, consensus, tags, splits, durability settings."""

from __future__ import annotations

import sqlite3

import pytest

from workbench.data.splits import labelled, splits
from workbench.errors import UnknownDataset, WorkbenchError
from workbench.store import DEFAULT_TAGS, ImageRecord, Store


def _records(n, dup_every=0):
    return [ImageRecord(name=f"{i}.png", path=f"x/{i}.png", sha256=str(i % dup_every if dup_every else i),
                        width=24, height=24, mode="L", position=i) for i in range(n)]


def test_new_dataset_has_default_tags_and_classes_in_order(store):
    store.create_dataset("eyes", classes=["open", "closed"])
    assert store.classes("eyes") == ["open", "closed"]
    assert store.tags("eyes") == list(DEFAULT_TAGS)
    store.add_classes("eyes", ["closed", "unsure"])  # existing ones are not duplicated
    assert store.classes("eyes") == ["open", "closed", "unsure"]


def test_sqlite_store_is_wal_with_full_sync_and_foreign_keys(home):
    store = Store(home / "w.sqlite")
    store.create_dataset("d")
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.query("PRAGMA synchronous").iloc[0, 0] == 2  # FULL
    assert store.query("PRAGMA foreign_keys").iloc[0, 0] == 1


def test_latest_label_wins_per_annotator_and_history_is_kept(store):
    store.create_dataset("d", classes=["a", "b"])
    store.add_images("d", _records(3))
    first = store.add_label(1, "a", "ann")
    store.add_label(1, "b", "ann")
    store.add_label(1, "a", "other")
    cur = store.latest_labels("d")
    assert dict(zip(cur.annotator, cur.label)) == {"ann": "b", "other": "a"}
    assert store.query("SELECT COUNT(*) AS n FROM labels").n[0] == 3
    assert first < cur.label_id.max()


def test_undo_restores_the_previous_label(store):
    store.create_dataset("d", classes=["a", "b"])
    store.add_images("d", _records(1))
    store.add_label(1, "a", "ann")
    second = store.add_label(1, "b", "ann")
    store.remove_label(second)
    assert store.latest_labels("d", "ann").label.tolist() == ["a"]


def test_resolved_label_is_the_majority_then_the_latest(store):
    store.create_dataset("d", classes=["a", "b"])
    store.add_images("d", _records(2))
    for who, lab in [("x", "a"), ("y", "a"), ("z", "b")]:
        store.add_label(1, lab, who)
    store.add_label(2, "a", "x")
    store.add_label(2, "b", "y")  # tie: latest wins
    assert store.resolved_labels("d").to_dict() == {1: "a", 2: "b"}


def test_unknown_class_tag_dataset_and_missing_annotator_are_refused(store):
    store.create_dataset("d", classes=["a"])
    store.add_images("d", _records(1))
    with pytest.raises(WorkbenchError, match="Unknown class 'zzz'"):
        store.add_label(1, "zzz", "ann")
    with pytest.raises(WorkbenchError, match="Unknown tag"):
        store.set_image_tag(1, "nope", "ann")
    with pytest.raises(WorkbenchError, match="annotator"):
        store.add_label(1, "a", "  ")
    with pytest.raises(UnknownDataset, match="known: d"):
        store.classes("missing")


def test_tags_per_annotator_on_and_off(store):
    store.create_dataset("d", classes=["a"])
    store.add_images("d", _records(2))
    store.set_image_tag(1, "glasses", "ann")
    store.set_image_tag(1, "glasses", "ann")  # idempotent
    store.set_image_tag(2, "dark", "bob")
    store.set_image_tag(2, "dark", "bob", on=False)
    assert store.image_tags("d")[["image_id", "tag"]].values.tolist() == [[1, "glasses"]]
    assert store.summary("d")["per_tag"]["glasses"] == 1


def test_splits_are_stratified_seeded_disjoint_and_keep_duplicates_together(store):
    store.create_dataset("d", classes=["a", "b"])
    store.add_images("d", _records(200, dup_every=150))  # images 150..199 duplicate 0..49
    store.add_labels("d", [(i, "a" if i % 4 else "b") for i in range(1, 201)], "ann")
    sp = splits(store, "d", seed=1)
    assert len(sp) == 200 and sp.image_id.is_unique
    frac = sp.split.value_counts(normalize=True)
    assert abs(frac["train"] - 0.7) < 0.06 and abs(frac["test"] - 0.15) < 0.06
    per_class = sp.groupby("label").split.value_counts(normalize=True)
    assert abs(per_class["b"]["train"] - per_class["a"]["train"]) < 0.1  # stratified
    sha = store.images("d").set_index("image_id").sha256
    assert sp.assign(sha=sp.image_id.map(sha)).groupby("sha").split.nunique().max() == 1
    # the same content and seed in another dataset gives the same split; another seed does not
    store.create_dataset("e", classes=["a", "b"])
    store.add_images("e", _records(200, dup_every=150))
    store.add_labels("e", [(i + 200, "a" if i % 4 else "b") for i in range(1, 201)], "ann")
    assert splits(store, "e", seed=1).split.tolist() == sp.split.tolist()
    assert splits(store, "e", seed=2).split.tolist() != sp.split.tolist()


def test_splits_are_sticky_when_more_images_get_labelled(store):
    store.create_dataset("d", classes=["a", "b"])
    store.add_images("d", _records(100))
    store.add_labels("d", [(i, "ab"[i % 2]) for i in range(1, 61)], "ann")
    before = splits(store, "d").set_index("image_id").split
    store.add_labels("d", [(i, "ab"[i % 2]) for i in range(61, 101)], "ann")
    after = splits(store, "d").set_index("image_id").split
    assert len(after) == 100
    assert after.loc[before.index].equals(before)
    assert set(after.loc[61:].unique()) >= {"train"}


def test_labelled_gives_paths_labels_indices_and_splits(faces_labelled):
    df = labelled(faces_labelled, "faces")
    assert len(df) == 200
    assert set(df.split) == {"train", "val", "test"}
    assert (df.y == df.label.map({"face": 0, "not face": 1})).all()
    assert df.path.map(lambda p: p.endswith(".png")).all()


def test_a_second_store_on_the_same_database_sees_committed_labels(store, db_url):
    store.create_dataset("d", classes=["a"])
    store.add_images("d", _records(1))
    store.add_label(1, "a", "ann")
    other = Store(db_url)
    assert other.latest_labels("d").label.tolist() == ["a"]


def test_labels_record_how_they_were_made(store):
    store.create_dataset("d", classes=["a", "b"])
    store.add_images("d", _records(4))
    store.add_label(1, "a", "ann")
    store.add_label(2, "b", "ann", source="accepted", confidence=0.93)
    store.add_labels("d", [(3, "a", 0.8), (4, "b", 0.6)], "ann", source="page")
    cur = store.latest_labels("d", "ann").set_index("image_id")
    assert cur.source.to_dict() == {1: "typed", 2: "accepted", 3: "page", 4: "page"}
    assert cur.confidence.isna()[1] and cur.confidence.loc[2:].tolist() == pytest.approx([0.93, 0.8, 0.6])
    store.add_labels("d", [(1, "b")], "bob")
    assert set(store.latest_labels("d", "bob").source) == {"bulk"}
    with pytest.raises(WorkbenchError, match="Unknown label source 'guessed'"):
        store.add_label(1, "a", "ann", source="guessed")


def test_imported_labels_say_so(digits):
    cur = digits.latest_labels("digits")
    assert len(cur) == 1797 and set(cur.source) == {"imported"} and cur.confidence.isna().all()
