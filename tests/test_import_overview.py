"""What the Datasets tab shows after an import: one row per set, counts per class, tag and quality category, and
preview pages of thumbnails."""

from __future__ import annotations

from workbench.data.overview import counts, keep_or_first, overview, preview
from workbench.data.quality import CATEGORIES


def test_overview_has_a_row_per_set_with_class_counts(faces_labelled):
    table = overview(faces_labelled)
    row = table.set_index("dataset").loc["faces"]
    assert row["images"] == 200 and row["labelled"] == 200
    assert row["classes"] == "face (100), not face (100)"
    # every tag of the set, with the images it is on: 0 until someone tags (it read "-" then, as if there were none)
    assert row["tags"] == ", ".join(f"{t} (0)" for t in faces_labelled.tags("faces"))
    faces_labelled.set_image_tag(int(faces_labelled.images("faces").image_id[0]), "dark", "ann")
    assert "dark (1)" in overview(faces_labelled).set_index("dataset").loc["faces", "tags"]


def test_counts_per_class_tag_and_quality_category(faces):
    faces.add_labels("faces", [(int(i), "face") for i in faces.images("faces").image_id[:3]], "ann")
    table = counts(faces, "faces").set_index(["kind", "name"])["images"]
    assert table[("class", "face")] == 3 and table[("class", "(unlabelled)")] == 197
    assert [n for k, n in table.index if k == "quality"] == list(CATEGORIES)
    quality = table.xs("quality")
    assert quality["low information"] > 0 and (quality < 0.15 * 200).all()  # the extreme few of this set, in each


def test_preview_pages_follow_the_stored_order(faces):
    images = faces.images("faces")
    first = preview(faces, "faces", 1, 60)
    assert first == list(zip(images.path[:60], images.name[:60]))
    assert preview(faces, "faces", None, 60) == first and preview(faces, "faces", 0, 60) == first
    assert preview(faces, "faces", 4.0, 60) == list(zip(images.path[180:], images.name[180:]))  # 20 left
    assert preview(faces, "faces", 5, 60) == []


def test_the_shown_dataset_stays_while_it_exists():
    assert keep_or_first(["a", "b"], "b") == "b"
    assert keep_or_first(["a", "b"], "gone") == "a" and keep_or_first(["a"], None) == "a"
    assert keep_or_first([], "x") is None
