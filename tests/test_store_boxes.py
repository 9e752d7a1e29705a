"""Boxes in the store: stable ids, an append-only history per annotator, tombstones, undo, the one-annotator-per-image
rule of Store.boxes, bulk writes all or nothing, and the set's task. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from workbench.errors import WorkbenchError
from workbench.store import BOX_COLUMNS, ImageRecord


def _set(store, n=3, width=300, height=400):
    store.create_dataset("s", box_classes=["face", "eye"])
    store.add_images("s", [ImageRecord(name=f"{i}.png", path=f"x/{i}.png", sha256=str(i), width=width, height=height,
                                       mode="RGB", position=i) for i in range(n)])
    return store.images("s").image_id.tolist()


def test_a_drawn_box_is_stored_in_image_pixels_with_its_provenance(store):
    a, b, _ = _set(store)
    box = store.add_box(b, "face", 10.5, 20, 100, 150.25, "ann")
    got = store.boxes("s")
    assert list(got.columns) == BOX_COLUMNS
    row = got.iloc[0]
    assert (row.image_id, row.box_id, row.label, row.x, row.y, row.w, row.h, row.annotator, row.how) == \
        (b, box, "face", 10.5, 20.0, 100.0, 150.25, "ann", "drawn")
    assert (row.width, row.height) == (300, 400) and row.path.endswith("x/1.png")
    assert store.boxes_of(a, "ann") == []


def test_moves_resizes_and_class_changes_append_versions_and_keep_the_box_id(store):
    (a, *_) = _set(store)
    box = store.add_box(a, "face", 0, 0, 10, 10, "ann")
    store.update_box(box, "ann", xywh=(5, 6, 20, 30))
    store.update_box(box, "ann", label="eye")
    cur = store.boxes_of(a, "ann")
    assert [(c["box_id"], c["label"], c["x"], c["y"], c["w"], c["h"]) for c in cur] == [(box, "eye", 5, 6, 20, 30)]
    hist = store.box_history(box)
    assert hist.label.tolist() == ["face", "face", "eye"] and hist.x.tolist() == [0, 5, 5]


def test_delete_is_a_tombstone_and_undo_brings_the_box_back(store):
    (a, *_) = _set(store)
    box = store.add_box(a, "face", 1, 2, 30, 40, "ann")
    before = store.boxes_of(a, "ann")[0]["version"]
    store.delete_box(box, "ann")
    assert store.boxes("s").empty and store.boxes_of(a, "ann") == []
    assert store.box_history(box).deleted.tolist() == [False, True]  # history kept
    with pytest.raises(WorkbenchError, match="deleted already"):
        store.delete_box(box, "ann")
    store.restore_box(box, before, "ann")
    assert [(c["box_id"], c["x"], c["w"]) for c in store.boxes_of(a, "ann")] == [(box, 1, 30)]
    # a deleted image still counts as boxed, with no boxes ("no objects here")
    store.delete_box(box, "ann")
    done = store.boxed_images("s")
    assert done.image_id.tolist() == [a] and done.n_boxes.tolist() == [0]
    assert store.boxed_count("s", "ann") == 1 and store.boxed_count("s", "bob") == 0


def test_only_the_owner_changes_a_box(store):
    (a, *_) = _set(store)
    box = store.add_box(a, "face", 1, 2, 30, 40, "ann")
    with pytest.raises(WorkbenchError, match="ann's"):
        store.update_box(box, "bob", xywh=(0, 0, 5, 5))
    with pytest.raises(WorkbenchError, match="ann's"):
        store.delete_box(box, "bob")


def test_per_image_the_boxes_of_the_annotator_who_changed_them_last(store):
    a, b, _ = _set(store)
    store.add_box(a, "face", 0, 0, 10, 10, "ann")
    store.add_box(a, "eye", 1, 1, 5, 5, "ann")
    store.add_box(b, "face", 0, 0, 10, 10, "ann")
    bob = store.add_box(a, "face", 2, 2, 20, 20, "bob")  # bob boxed image a after ann
    got = store.boxes("s")
    assert sorted(zip(got.image_id, got.annotator, got.x)) == [(a, "bob", 2.0), (b, "ann", 0.0)]
    store.add_box(a, "face", 50, 50, 10, 10, "ann")  # ann changed a again: hers count
    assert sorted(store.boxes("s").query("image_id == @a").x) == [0.0, 1.0, 50.0]
    assert store.boxes("s", annotator="bob").box_id.tolist() == [bob]


def test_bad_boxes_are_named_each_and_nothing_is_written(store):
    a, b, _ = _set(store)
    rows = [{"image_id": a, "label": "face", "x": 0, "y": 0, "w": 10, "h": 10},
            {"image_id": a, "label": "face", "x": 295, "y": 0, "w": 10, "h": 10},  # past the right edge
            {"image_id": b, "label": "face", "x": 0, "y": 0, "w": 0, "h": 10},  # zero width
            {"image_id": 999, "label": "face", "x": 0, "y": 0, "w": 1, "h": 1},
            {"image_id": b, "label": "cat", "x": 0, "y": 0, "w": 1, "h": 1}]
    with pytest.raises(WorkbenchError) as e:
        store.add_boxes("s", rows, "ann", how="imported")
    msg = str(e.value)
    assert "4 bad boxes" in msg and "row 2" in msg and "outside the 300×400 image" in msg
    assert "row 3" in msg and "non-positive size" in msg and "image id 999" in msg and "'cat'" in msg
    assert store.boxes("s").empty and store.boxed_images("s").empty
    with pytest.raises(WorkbenchError, match="outside"):
        store.add_box(a, "face", -5, 0, 10, 10, "ann")
    box = store.add_box(a, "face", 0, 0, 10, 10, "ann")
    with pytest.raises(WorkbenchError, match="outside"):
        store.update_box(box, "ann", xywh=(0, 395, 10, 10))
    assert store.box_history(box).shape[0] == 1


def test_bulk_accept_keeps_provenance_and_confidence_and_replace_supersedes(store):
    a, b, c = _set(store)
    ids = store.add_boxes("s", [{"image_id": a, "label": "face", "x": 0, "y": 0, "w": 10, "h": 10, "confidence": 0.9},
                                {"image_id": b, "label": "eye", "x": 1, "y": 1, "w": 3, "h": 3}],
                          "ann", how="accepted", confidence=0.5, empty_images=[c])
    got = store.boxes("s").set_index("box_id")
    assert got.loc[ids, "how"].tolist() == ["accepted"] * 2 and got.loc[ids, "confidence"].tolist() == [0.9, 0.5]
    assert store.boxed_images("s").n_boxes.tolist() == [1, 1, 0]
    store.add_boxes("s", [{"image_id": a, "label": "eye", "x": 2, "y": 2, "w": 4, "h": 4}], "ann", how="imported",
                    replace=True)
    assert store.boxes("s").query("image_id == @a").label.tolist() == ["eye"]


def test_box_classes_and_task(store):
    store.create_dataset("cls", classes=["open", "closed"])
    assert store.task("cls") == "classification" and store.box_classes("cls") == []
    store.add_box_classes("cls", ["eye"])
    assert store.task("cls") == "both" and store.classes("cls") == ["open", "closed"]
    store.create_dataset("det", box_classes=["face", "eye", "face"])
    assert store.task("det") == "detection" and store.box_classes("det") == ["face", "eye"]
    store.set_task("det", "both")
    assert store.task("det") == "both"
    with pytest.raises(WorkbenchError, match="Unknown task"):
        store.set_task("det", "segmentation")


def test_deleting_a_dataset_deletes_its_boxes(store):
    (a, *_) = _set(store)
    store.add_box(a, "face", 0, 0, 10, 10, "ann")
    store.delete_dataset("s")
    assert store.query("SELECT COUNT(*) AS n FROM box_versions").n[0] == 0
