"""The Boxes mode's core (labeling.boxes) without a browser: operations as the canvas sends them, each recorded at
once; undo of a whole accept or copy; "done" with no boxes; suggestions from the Haar cascades on a real photo,
never recorded until accepted; refusals that change nothing."""

from __future__ import annotations

import pytest
from PIL import Image
from skimage import data

from workbench.data.importers import import_path
from workbench.errors import WorkbenchError
from workbench.labeling.box_suggest import haar_boxes, haar_classes, haar_suggester
from workbench.labeling.boxes import apply, open_boxes, screen


@pytest.fixture
def photos(store, home):
    folder = home / "photos"
    folder.mkdir()
    Image.fromarray(data.astronaut()).save(folder / "a.png")  # 512×512, one face
    Image.fromarray(data.astronaut()).resize((256, 256)).save(folder / "b.png")
    Image.fromarray(data.chelsea()).save(folder / "c.jpg")  # a cat: no face
    import_path(store, folder, name="p")
    store.add_box_classes("p", ["face", "eye"])
    return store


def test_operations_are_recorded_at_once_and_undone_in_order(photos):
    store = photos
    s = open_boxes(store, "p", "ann")
    a = s.image_id
    apply(store, s, {"op": "add", "cls": 0, "x": 10, "y": 20, "w": 100, "h": 120})
    box = store.boxes_of(a, "ann")[0]["box_id"]
    apply(store, s, {"op": "label", "box_id": box, "cls": 1})
    apply(store, s, {"op": "move", "box_id": box, "x": 12, "y": 20, "w": 100, "h": 120})
    assert [(b["label"], b["x"]) for b in store.boxes_of(a, "ann")] == [("eye", 12)]
    apply(store, s, {"op": "delete", "box_id": box})
    assert store.boxes_of(a, "ann") == []
    for expect in ([("eye", 12)], [("eye", 10)], [("face", 10)], []):
        apply(store, s, {"op": "undo"})
        assert [(b["label"], b["x"]) for b in store.boxes_of(a, "ann")] == expect
    apply(store, s, {"op": "undo"})
    assert s.message == "Nothing to undo."


def test_copy_moves_the_previous_images_boxes_at_the_same_fractions_and_undo_takes_them_all(photos):
    store = photos
    s = open_boxes(store, "p", "ann")
    apply(store, s, {"op": "add", "cls": 0, "x": 100, "y": 50, "w": 200, "h": 100})
    apply(store, s, {"op": "add", "cls": 1, "x": 0, "y": 0, "w": 10, "h": 10})
    apply(store, s, {"op": "done"})  # b.png is half the size
    b = s.image_id
    apply(store, s, {"op": "copy"})
    assert sorted((x["label"], x["x"], x["y"], x["w"], x["h"], x["how"]) for x in store.boxes_of(b, "ann")) == \
        [("eye", 0, 0, 5, 5, "copied"), ("face", 50, 25, 100, 50, "copied")]
    apply(store, s, {"op": "undo"})
    assert store.boxes_of(b, "ann") == []


def test_done_records_an_image_with_no_boxes_and_a_new_session_starts_after_it(photos):
    store = photos
    s = open_boxes(store, "p", "ann")
    apply(store, s, {"op": "done"})
    assert store.boxed_images("p", "ann").n_boxes.tolist() == [0]
    assert open_boxes(store, "p", "ann").pos == 1 and open_boxes(store, "p", "bob").pos == 0
    apply(store, s, {"op": "next"})
    apply(store, s, {"op": "next"})
    assert s.image_id is None and "All 3 images" in screen(store, s)["message"]
    apply(store, s, {"op": "add", "cls": 0, "x": 1, "y": 1, "w": 2, "h": 2})
    assert "No image on screen" in s.message
    apply(store, s, {"op": "prev"})
    assert s.image_id is not None


def test_refusals_change_nothing_and_say_why(photos):
    store = photos
    s = open_boxes(store, "p", "ann")
    for op, says in [({"op": "add", "cls": 5, "x": 0, "y": 0, "w": 5, "h": 5}, "No box class number 6"),
                     ({"op": "add", "cls": 0, "x": 500, "y": 0, "w": 50, "h": 5}, "outside the 512×512 image"),
                     ({"op": "add", "cls": 0, "x": "a"}, "Malformed add"),
                     ({"op": "delete", "box_id": 999}, "not one of your boxes"),
                     ({"op": "fly"}, "Unknown operation"),
                     ({"op": "copy"}, "No previous image")]:
        apply(store, s, op)
        assert says in s.message
    assert store.boxes("p").empty and not s.undo
    with pytest.raises(WorkbenchError, match="annotator"):
        open_boxes(store, "p", " ")
    store.create_dataset("plain", classes=["x"])
    with pytest.raises(WorkbenchError, match="no box classes"):
        open_boxes(store, "plain", "ann")


def test_haar_suggests_the_astronauts_face_and_eyes_and_nothing_is_recorded_until_accepted(photos):
    store = photos
    assert haar_classes(["Face", "left eye", "cup"]) == {"face": "Face", "eye": "left eye"}
    assert haar_suggester(["cup"]) is None
    sugg = haar_suggester(store.box_classes("p"))
    s = open_boxes(store, "p", "ann")
    shown = screen(store, s, sugg.suggest)["suggestions"]
    face = next(b for b in shown if b["label"] == "face")
    assert 150 < face["x"] + face["w"] / 2 < 300 and 50 < face["y"] + face["h"] / 2 < 200  # her face
    assert sum(b["label"] == "eye" for b in shown) == 2
    assert store.boxes("p").empty  # suggestions are never recorded by themselves
    apply(store, s, {"op": "accept", "index": 0}, sugg.suggest)
    assert store.boxes("p").how.tolist() == ["accepted"]
    assert len(screen(store, s, sugg.suggest)["suggestions"]) == len(shown) - 1  # the accepted one is boxed now
    apply(store, s, {"op": "accept"}, sugg.suggest)
    assert len(store.boxes("p")) == len(shown)
    apply(store, s, {"op": "undo"}, sugg.suggest)
    assert len(store.boxes("p")) == 1
    cat = store.images("p").set_index("name").path["c.jpg"]
    assert haar_boxes(cat, ["face", "eye"]) == []
