"""The labelling core: queue orders, next / skip / previous / undo, tags, progress, bad input."""

from __future__ import annotations

import os

import pytest

from workbench.errors import WorkbenchError
from workbench.labeling import (build_queue, goto, label, label_key, only_filter, open_image, open_session, previous,
                                queue_next, skip, step, tag_keys, take_left_out, toggle_tag, undo, view)
from workbench.labeling.keys import button_action, class_for_key, class_keys, keys_by_position
from workbench.labeling.orders import ORDER_TABLE
from workbench.labeling.session import parse_action


def test_unlabeled_queue_is_file_order_and_skips_labelled(faces):
    ids = list(faces.images("faces")["image_id"])
    faces.add_label(ids[0], "face", "ann")
    faces.add_label(ids[2], "face", "other")  # another annotator's label does not hide it from "ann"
    assert build_queue(faces, "faces", "ann") == ids[1:]


# what an order filters on, for the ones that show one tag or class
ONLY = {"tag": "glasses", "class": "face"}


@pytest.mark.parametrize("order", ORDER_TABLE, ids=lambda o: o.name)
def test_an_order_is_marked_built_on_others_work_exactly_when_their_work_changes_it(faces, order):
    """Blind labelling refuses the orders marked `by_others`: each order's mark is checked against what it shows
    when another annotator labels, tags and accepts suggestions."""
    ids = list(faces.images("faces")["image_id"])
    faces.add_labels("faces", [(i, "face") for i in ids[:3]], "alice")
    faces.set_image_tag(ids[0], "glasses", "alice")

    def alices_queue():
        return build_queue(faces, "faces", "alice", order.name, ONLY.get(order.name), seed=1)

    before = alices_queue()
    faces.add_labels("faces", [(i, "face") for i in ids[10:20]], "bob")
    faces.add_label(ids[30], "face", "bob", source="accepted", confidence=0.9)
    faces.set_image_tag(ids[40], "glasses", "bob")
    assert (alices_queue() != before) == order.by_others


def test_random_queue_is_seeded_permutation_of_unlabeled(faces):
    a = build_queue(faces, "faces", "ann", "random", seed=3)
    b = build_queue(faces, "faces", "ann", "random", seed=3)
    c = build_queue(faces, "faces", "ann", "random", seed=4)
    assert a == b and a != c and sorted(a) == sorted(build_queue(faces, "faces", "ann"))


def test_review_queues_only_tag_and_only_class(faces_labelled):
    s = faces_labelled
    ids = list(s.images("faces")["image_id"])
    s.set_image_tag(ids[5], "dark", "ann")
    s.set_image_tag(ids[150], "dark", "bob")
    assert build_queue(s, "faces", "ann", "tag", "dark") == [ids[5], ids[150]]
    assert build_queue(s, "faces", "ann", "class", "not face") == ids[100:]
    with pytest.raises(WorkbenchError, match="no tag"):
        build_queue(s, "faces", "ann", "tag", "nope")
    with pytest.raises(WorkbenchError, match="Unknown queue order"):
        build_queue(s, "faces", "ann", "sideways")


def test_label_commits_and_moves_on_with_progress(faces):
    ids = list(faces.images("faces")["image_id"])
    s = open_session(faces, "faces", "ann")
    assert s.image_id == ids[0]
    label(faces, s, "face")
    label_key(faces, s, "2")
    assert s.image_id == ids[2]
    cur = faces.latest_labels("faces", "ann")
    assert dict(zip(cur.image_id, cur.label)) == {ids[0]: "face", ids[1]: "not face"}
    v = view(faces, s)
    assert (v.labelled, v.total, v.per_class) == (2, 200, {"face": 1, "not face": 1})
    assert v.label is None and v.name == faces.image(ids[2])["name"]


def test_skip_previous_undo(faces):
    ids = list(faces.images("faces")["image_id"])
    s = open_session(faces, "faces", "ann")
    label(faces, s, "face")          # ids0
    skip(faces, s)                   # ids1 stays unlabeled
    label(faces, s, "not face")      # ids2
    assert s.image_id == ids[3]
    previous(faces, s)
    previous(faces, s)
    assert s.image_id == ids[1] and view(faces, s).label is None
    previous(faces, s)
    assert s.image_id == ids[0] and view(faces, s).label == "face"
    label(faces, s, "not face")      # relabel from history, then forward through the trail
    assert s.image_id == ids[1]
    undo(faces, s)                   # takes back the relabel: ids0 is "face" again and on screen
    assert s.image_id == ids[0] and view(faces, s).label == "face"
    undo(faces, s)                   # takes back ids2
    assert s.image_id == ids[2] and view(faces, s).label is None
    undo(faces, s)
    undo(faces, s)
    assert "Nothing to undo" in s.message
    assert faces.latest_labels("faces", "ann").empty


def test_unknown_key_does_nothing(faces):
    s = open_session(faces, "faces", "ann")
    before = s.image_id
    for key in ["3", "9", "0", "x", "Enter", ""]:
        label_key(faces, s, key)
    assert s.image_id == before and faces.latest_labels("faces", "ann").empty
    assert class_for_key("1", ["a"]) == "a" and class_for_key("2", ["a"]) is None


def test_tag_keys_skip_reserved_letters_and_stay_unique():
    keys = tag_keys(["glasses", "dark", "odd angle", "inverted", "other", "sunglasses", "unknown"])
    assert keys["g"] == "glasses" and keys["d"] == "dark" and keys["o"] == "odd angle"
    assert keys["i"] == "inverted" and keys["t"] == "other"
    assert not {"s", "u"} & set(keys) and len(set(keys.values())) == 7


def test_toggle_tag_on_and_off(faces):
    s = open_session(faces, "faces", "ann")
    toggle_tag(faces, s, "glasses")
    toggle_tag(faces, s, "dark")
    assert view(faces, s).tags == ["dark", "glasses"]
    toggle_tag(faces, s, "glasses")
    assert view(faces, s).tags == ["dark"]
    toggle_tag(faces, s, "nope")
    assert "Unknown tag" in s.message


def test_image_deleted_from_disk_gives_message_and_moves_on(faces):
    ids = list(faces.images("faces")["image_id"])
    s = open_session(faces, "faces", "ann")
    os.remove(faces.image(ids[0])["path"])
    os.remove(faces.image(ids[1])["path"])
    label(faces, s, "face")
    assert "missing on disk" in s.message and s.image_id == ids[2]
    assert faces.latest_labels("faces", "ann").empty
    s2 = open_session(faces, "faces", "bob")  # opening skips them too, saying so
    assert s2.image_id == ids[2] and "2 image(s) missing" in s2.message


def test_two_tabs_of_one_annotator_do_not_corrupt_each_other(faces):
    ids = list(faces.images("faces")["image_id"])
    a = open_session(faces, "faces", "ann")
    b = open_session(faces, "faces", "ann")
    label(faces, a, "face")            # ids0 in tab a
    label(faces, a, "face")            # ids1 in tab a
    assert b.image_id == ids[0]
    label(faces, b, "not face")        # tab b still showed ids0: its label is the latest
    assert b.image_id == ids[2]        # tab b does not show ids1: tab a labelled it meanwhile
    undo(faces, a)                     # a's undo only takes back a's own label of ids1
    cur = faces.latest_labels("faces", "ann")
    assert dict(zip(cur.image_id, cur.label)) == {ids[0]: "not face"}


def test_bad_session_input(faces):
    with pytest.raises(WorkbenchError, match="annotator name"):
        open_session(faces, "faces", "  ")
    with pytest.raises(WorkbenchError, match="No dataset named"):
        open_session(faces, "nope", "ann")


def test_dataset_without_classes_prompts_to_add_them(store, home):
    from PIL import Image

    from workbench.store import ImageRecord

    store.create_dataset("eyes")
    p = home / "a.png"
    Image.new("L", (24, 24)).save(p)
    store.add_images("eyes", [ImageRecord("a.png", str(p), "x", 24, 24, "L", 0)])
    s = open_session(store, "eyes", "ann")
    assert "no classes yet" in s.message
    label_key(store, s, "1")
    assert store.latest_labels("eyes").empty
    store.add_classes("eyes", ["open", "closed"])
    label_key(store, s, "2")
    assert list(store.latest_labels("eyes")["label"]) == ["closed"]


def test_goto_opens_image_then_queue_continues(faces):
    ids = list(faces.images("faces")["image_id"])
    s = open_session(faces, "faces", "ann")
    goto(faces, s, ids[150])
    assert s.image_id == ids[150]
    label(faces, s, "not face")
    assert s.image_id == ids[1]     # the queue goes on after the image opened; ids0 stays behind it (←)
    previous(faces, s)
    assert s.image_id == ids[150]
    previous(faces, s)
    assert s.image_id == ids[0]


def test_undo_takes_back_tags_and_labels_newest_first(faces):
    s = open_session(faces, "faces", "ann")
    first = s.image_id
    toggle_tag(faces, s, "glasses")                   # on
    toggle_tag(faces, s, "dark")
    toggle_tag(faces, s, "dark")                      # dark on, then off again
    label_key(faces, s, "1")
    assert s.image_id != first
    undo(faces, s)                                    # the label: the image is back on screen
    assert s.image_id == first and view(faces, s).label is None and view(faces, s).tags == ["glasses"]
    undo(faces, s)                                    # dark off undone: on again
    assert view(faces, s).tags == ["dark", "glasses"] and s.message == "Undid untagging 00000.png 'dark'."
    undo(faces, s)
    assert s.message == "Undid tagging 00000.png 'dark'."  # (it said "Undid tag 'dark' on on 00000.png.")
    undo(faces, s)
    assert view(faces, s).tags == [] and faces.image_tags("faces").empty
    undo(faces, s)
    assert s.message == "Nothing to undo in this session."


def test_tenth_class_is_key_0_and_later_classes_have_no_key(store, home):
    names = [f"c{i}" for i in range(11)]
    assert class_keys(names) == {**{str(i + 1): f"c{i}" for i in range(9)}, "0": "c9"}
    assert class_for_key("0", names) == "c9" and "c10" not in class_keys(names).values()


def test_classes_named_by_digits_keep_their_own_key(store, digits_sample):
    assert class_keys(store.classes(digits_sample)) == {str(d): str(d) for d in range(10)}
    s = open_session(store, digits_sample, "ann")
    shown = []
    for key in "073":
        shown.append(s.image_id)
        label_key(store, s, key)
    got = store.latest_labels(digits_sample, "ann").set_index("image_id")["label"]
    assert [got[i] for i in shown] == ["0", "7", "3"]
    assert class_keys(["0", "1", "other"]) == {"1": "0", "2": "1", "3": "other"}  # not all digits: by position


def test_undo_of_a_tag_removed_meanwhile_says_so_and_keeps_the_labels(faces):
    s = open_session(faces, "faces", "ann")
    toggle_tag(faces, s, "glasses")
    label_key(faces, s, "1")
    faces.remove_tag("faces", "glasses")
    undo(faces, s)                                    # the label
    undo(faces, s)                                    # the tag: gone from the dataset
    assert "was removed from the dataset" in s.message
    assert faces.latest_labels("faces", "ann").empty and faces.image_tags("faces").empty
    undo(faces, s)
    assert s.message == "Nothing to undo in this session."


def test_buttons_name_their_action_and_a_label_button_its_class_index():
    assert button_action("wb-label-3") == ("label", 3) and button_action("wb-tag-0") == ("tag", 0)
    assert [button_action(b)[0] for b in ("wb-skip", "wb-prev", "wb-undo", "wb-accept")] == [
        "skip", "prev", "undo", "accept"]
    for other in ("", "wb-label-", "wb-label-x", "wb-start", "wb-tag--1"):
        assert button_action(other) == ("", None)
    # each class's button shows and answers to its key; classes past the tenth have none
    names = [f"c{i}" for i in range(11)]
    assert keys_by_position(names, class_keys(names)) == [*"1234567890", None]
    assert keys_by_position(["2", "0"], class_keys(["2", "0"])) == ["2", "0"]
    assert keys_by_position(["dark", "sunny"], tag_keys(["dark", "sunny"])) == ["d", "n"]


def test_api_action_strings():
    assert parse_action("label:not face") == ("label", "not face") and parse_action("tag:a:b") == ("tag", "a:b")
    assert [parse_action(a) for a in ("skip", "next", "prev", "undo", "accept")] == [
        ("skip", None), ("skip", None), ("prev", None), ("undo", None), ("accept", None)]
    assert parse_action("2") == ("key", "2") and parse_action("Enter") == ("key", "Enter")


def test_only_the_tag_and_class_orders_take_the_only_filter(faces):
    assert only_filter("tag", "dark") == "dark" and only_filter("class", "face") == "face"
    assert only_filter("class", "") is None
    for order in ("unlabeled", "random", "similar", "uncertain", "confident", "all", "accepted"):
        assert only_filter(order, "dark") is None
    assert open_session(faces, "faces", "ann", "unlabeled", "dark").only is None
    assert open_session(faces, "faces", "ann", "tag", "dark").only == "dark"


def test_label_and_tag_by_index_as_their_buttons_do(faces):
    ids = list(faces.images("faces")["image_id"])
    s = open_session(faces, "faces", "ann")
    v = step(faces, s, "tag", 1)                       # tags: glasses, dark, ...
    assert v.image_id == ids[0] and v.tags == ["dark"]
    v = step(faces, s, "label", 1)                     # classes: face, not face
    assert v.image_id == ids[1] and v.message.endswith("→ not face") and v.per_class == {"face": 0, "not face": 1}
    v = step(faces, s, "label", 2)                     # no third class: nothing happens
    assert v.image_id == ids[1] and "Unknown class 2" in v.message
    v = step(faces, s, "key", "1")
    assert v.image_id == ids[2]
    cur = faces.latest_labels("faces", "ann")
    assert dict(zip(cur.image_id, cur.label)) == {ids[0]: "not face", ids[1]: "face"}


class Counting:
    """The store, counting calls by method name."""

    def __init__(self, store):
        self._store, self.calls = store, {}

    def __getattr__(self, name):
        real = getattr(self._store, name)

        def counted(*a, **k):
            self.calls[name] = self.calls.get(name, 0) + 1
            return real(*a, **k)
        return counted if callable(real) else real


def test_a_keypress_reads_the_classes_and_an_image_once(faces):
    store = Counting(faces)
    s = open_session(store, "faces", "ann")
    for action, target in (("label", 0), ("key", "2"), ("accept", None), ("skip", None)):
        store.calls.clear()
        v = step(store, s, action, target)
        assert store.calls.get("classes") == 1, (action, store.calls)
        assert store.calls.get("image", 0) <= 1, (action, store.calls)   # the next image's row, read once
        assert v.name == faces.image(v.image_id)["name"]
    store.calls.clear()
    step(store, s, "prev")                              # back to an image already seen: read again, once
    assert store.calls.get("image") == 1 and store.calls.get("classes") == 1


def test_open_image_from_another_tab_in_a_session_or_a_new_one(faces, digits_sample):
    ids = list(faces.images("faces")["image_id"])
    s = open_image(faces, None, "faces", ids[7], "ann")
    assert (s.annotator, s.order, s.image_id) == ("ann", "all", ids[7])
    same = open_image(faces, s, "faces", ids[9], "someone")   # the session's annotator stays
    assert same is s and s.image_id == ids[9] and s.annotator == "ann"
    d = faces.images(digits_sample)["image_id"].iloc[0]
    other = open_image(faces, s, digits_sample, int(d), "x")   # another dataset: a new session, same annotator
    assert other is not s and (other.dataset, other.annotator, other.image_id) == (digits_sample, "ann", d)


def test_images_left_out_of_a_verify_page_come_next(faces):
    ids = list(faces.images("faces")["image_id"])
    s = take_left_out(faces, None, "faces", "ann", [ids[5], ids[3]], rejected="face")
    assert (s.order, s.suggest, s.image_id, s.rejected) == ("confident", True, ids[5], {ids[5]: "face", ids[3]: "face"})
    skip(faces, s)
    assert s.image_id == ids[3]
    skip(faces, s)
    assert s.image_id == ids[0]                          # then the queue, from its start
    mine = open_session(faces, "faces", "ann", "unlabeled")
    assert take_left_out(faces, mine, "faces", "ann", [ids[9]], "face") is mine and mine.image_id == ids[9]
    assert take_left_out(faces, mine, "faces", "bob", [ids[9]], "face") is not mine
    queue_next(faces, mine, [])
    assert mine.image_id == ids[9]
