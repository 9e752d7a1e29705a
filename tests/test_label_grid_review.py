"""Grid-mode bulk labelling and the Review view's agreement numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from workbench.errors import WorkbenchError
from workbench.labeling import bulk_label, bulk_tag, disagreements, grid_page, pairwise_kappa, settle
from workbench.labeling.export import scope_options
from workbench.labeling.grid import correct, toggle
from workbench.labeling.names import add_classes, add_tags, remove_tag, split_names


def test_grid_pages_and_bulk_label(faces):
    ids = list(faces.images("faces")["image_id"])
    p = grid_page(faces, "faces", "ann", page=1, size=64)
    assert (p.page, p.pages, p.total) == (1, 4, 200) and list(p.items["image_id"]) == ids[64:128]
    assert p.items["label"].isna().all()
    assert bulk_label(faces, "faces", ids[64:70], "not face", "ann") == 6
    assert bulk_label(faces, "faces", ids[64:72], "not face", "ann") == 2  # unchanged ones are not re-recorded
    p = grid_page(faces, "faces", "ann", page=1, size=64)
    assert list(p.items["label"][:8]) == ["not face"] * 8
    last = grid_page(faces, "faces", "ann", page=99, size=64)  # past the end: the last page
    assert last.page == 3 and len(last.items) == 8
    unl = grid_page(faces, "faces", "ann", order="unlabeled", size=500)
    assert unl.total == 192


def test_a_click_toggles_one_thumbnail_of_the_page_in_or_out_of_the_selection():
    page = [11, 12, 13]
    assert toggle(None, 12, page) == [12]
    assert toggle([12], 13, page) == [12, 13]
    assert toggle([12, 13], 12, page) == [13]      # clicked again: out
    assert toggle([12], 99, page) == [12]          # not on the page (a stale click): nothing changes
    assert toggle([12], None, page) == [12]


def test_bulk_tag_all_or_nothing(faces):
    ids = list(faces.images("faces")["image_id"])
    assert bulk_tag(faces, "faces", ids[:5], "dark", "ann") == 5
    bulk_tag(faces, "faces", ids[:2], "dark", "ann", on=False)
    assert sorted(faces.image_tags("faces", "ann")["image_id"]) == ids[2:5]
    with pytest.raises(WorkbenchError, match="no tag"):
        bulk_tag(faces, "faces", ids[:5], "shiny", "ann")
    with pytest.raises(WorkbenchError, match="Select at least one"):
        bulk_label(faces, "faces", [], "face", "ann")
    with pytest.raises(WorkbenchError, match="not in dataset"):
        bulk_label(faces, "faces", [ids[0], 99999], "face", "ann")
    with pytest.raises(WorkbenchError, match="annotator name"):
        bulk_label(faces, "faces", ids[:1], "face", "")
    assert faces.latest_labels("faces").empty


def test_kappa_matches_sklearn_and_disagreements_listed(faces_labelled):
    s = faces_labelled
    truth = s.latest_labels("faces", "truth")
    rng = np.random.default_rng(0)
    flip = {"face": "not face", "not face": "face"}
    noisy = [(i, flip[l] if rng.random() < 0.2 else l) for i, l in zip(truth.image_id, truth.label)]
    s.add_labels("faces", noisy[:150], "bob")  # bob labelled only 150
    k = pairwise_kappa(s, "faces")
    assert list(k[["annotator_a", "annotator_b"]].iloc[0]) == ["bob", "truth"]
    expected = cohen_kappa_score([l for _, l in noisy[:150]], list(truth.label[:150]))
    assert k["kappa"].iloc[0] == pytest.approx(expected) and k["images"].iloc[0] == 150
    assert 0.3 < expected < 0.9 and k["note"].iloc[0] == ""
    d = disagreements(s, "faces")
    differ = sorted(i for (i, l), t in zip(noisy[:150], truth.label[:150]) if l != t)
    assert sorted(d["image_id"]) == differ and set(d.columns) >= {"name", "bob", "truth", "settled"}
    first = int(d["image_id"].iloc[0])
    settle(s, first, d.loc[d.image_id == first, "truth"].iloc[0])
    assert s.resolved_labels("faces")[first] == d.loc[d.image_id == first, "truth"].iloc[0]
    assert pairwise_kappa(s, "faces")["kappa"].iloc[0] == pytest.approx(expected)  # the reviewer is no annotator
    assert disagreements(s, "faces").set_index("image_id").at[first, "settled"] is not None


def test_grid_summary_says_where_the_page_is_or_why_it_is_empty(faces):
    p = grid_page(faces, "faces", "ann", page=1, size=64)
    assert p.summary(faces, "faces", "ann", "all") == "Page 2 of 4 · 200 images in this order"
    assert p.verify is None and p.image_ids == list(faces.images("faces")["image_id"])[64:128]
    empty = grid_page(faces, "faces", "ann", order="tag", only="dark")
    assert empty.total == 0 and "No image carries the tag 'dark'" in empty.summary(faces, "faces", "ann", "tag", "dark")


def test_typed_classes_and_tags(faces):
    assert split_names(" open, closed,, ") == ["open", "closed"] and split_names(None) == []
    assert add_classes(faces, "faces", "open, closed") == ["face", "not face", "open", "closed"]
    with pytest.raises(WorkbenchError, match="Type class names"):
        add_classes(faces, "faces", " , ")
    with pytest.raises(WorkbenchError, match="Pick a dataset"):
        add_tags(faces, None, "x")
    assert add_tags(faces, "faces", "shiny, ")[-1] == "shiny"
    assert "shiny" not in remove_tag(faces, "faces", "shiny")
    with pytest.raises(WorkbenchError, match="a tag first"):
        remove_tag(faces, "faces", None)


def test_export_scopes():
    assert scope_options("all annotators", "ann") == {"annotator": None, "resolved": False}
    assert scope_options("only me", "ann") == {"annotator": "ann", "resolved": False}
    assert scope_options("resolved (majority)", "ann") == {"annotator": None, "resolved": True}
    with pytest.raises(WorkbenchError, match="Unknown export scope"):
        scope_options("everything", "ann")


def test_a_class_key_on_a_verify_page_corrects_and_the_suggested_key_uncorrects():
    page = [4, 5, 6]
    fixed = correct({}, 5, "closed", "open", page)
    assert fixed == {5: "closed"}
    assert correct(fixed, 6, "other", "open", page) == {5: "closed", 6: "other"}
    assert correct(fixed, 5, "open", "open", page) == {}          # its suggested class again: no correction
    assert correct(fixed, 9, "other", "open", page) == fixed       # not on this page: nothing changes
    assert correct(fixed, 5, None, "open", page) == {} and fixed == {5: "closed"}   # a new dict each time


def test_a_kappa_of_zero_from_one_class_only_says_so(faces):
    """12 of 15 agreeing but one annotator used one class only: kappa is 0, and the note says why."""
    ids = faces.images("faces")["image_id"].tolist()[:15]
    faces.add_labels("faces", [(i, "face") for i in ids], "ann")
    faces.add_labels("faces", [(i, "not face" if k < 3 else "face") for k, i in enumerate(ids)], "bob")
    row = pairwise_kappa(faces, "faces").iloc[0]
    assert (row.images, row.agree, row.kappa) == (15, 12, 0.0)
    assert row.note.startswith("ann used one class only")

