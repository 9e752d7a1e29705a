"""Composed detection scenes: real digits and faces pasted onto scikit-image photos with exact boxes, seeded, imported
through the COCO importer as a user's file would be."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.cli import main
from workbench.data.demo import DEMOS, SCENES, ensure_scenes
from workbench.data.scenes import SceneSpec, compose_scenes, read_coco_boxes, write_scenes
from workbench.errors import WorkbenchError

SMALL = SceneSpec(n=8, size=(160, 120), objects="both", per_image=(2, 3), scale=(16, 40), seed=3)


def test_scenes_are_seeded_and_every_box_lies_in_its_image_without_overlap():
    a, b = compose_scenes(SMALL), compose_scenes(SMALL)
    assert all(np.array_equal(x.image, y.image) and x.boxes == y.boxes and x.labels == y.labels for x, y in zip(a, b))
    other = compose_scenes(SceneSpec(**{**SMALL.__dict__, "seed": 4}))
    assert not all(np.array_equal(x.image, y.image) for x, y in zip(a, other))
    for s in a:
        assert s.image.shape == (120, 160, 3) and s.image.dtype == np.uint8
        assert 2 <= len(s.boxes) <= 3 and set(s.labels) <= set(SMALL.classes)
        for i, (x, y, w, h) in enumerate(s.boxes):
            assert 0 <= x and 0 <= y and x + w <= 160 and y + h <= 120 and w > 0 and h > 0
            for (x2, y2, w2, h2) in s.boxes[i + 1:]:
                assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y  # no two objects overlap


def test_a_face_is_pasted_whole_and_its_box_is_exactly_the_patch():
    scenes = compose_scenes(SceneSpec(n=4, size=(160, 120), objects="faces", per_image=(1, 1), scale=(30, 30), seed=1))
    for s in scenes:
        (x, y, w, h), = s.boxes
        assert s.labels == ["face"] and (w, h) == (30, 30)
        patch = s.image[y:y + h, x:x + w]
        assert (patch[..., 0] == patch[..., 1]).all() and (patch[..., 1] == patch[..., 2]).all()  # the grey face


def test_a_digit_box_is_tight_around_its_ink():
    """The box's outermost rows and columns hold ink that stands out from the photo next to it."""
    for s in compose_scenes(SceneSpec(n=6, objects="digits", per_image=(1, 1), scale=(60, 60), seed=2)):
        (x, y, w, h), = s.boxes
        inside = s.image[y:y + h, x:x + w].astype(int)
        ring = np.concatenate([s.image[max(0, y - 3):y, x:x + w].reshape(-1, 3),
                               s.image[y + h:y + h + 3, x:x + w].reshape(-1, 3)]).astype(int)
        assert max(w, h) == 60
        for edge in (inside[0], inside[-1], inside[:, 0], inside[:, -1]):
            assert len(ring) == 0 or np.abs(edge - ring.mean(0)).sum(1).max() > 60


def test_bad_specs_are_refused_with_the_reason():
    with pytest.raises(WorkbenchError, match="Unknown scene objects 'cats'"):
        compose_scenes(SceneSpec(objects="cats"))
    with pytest.raises(WorkbenchError, match="at most half the scene's shorter side"):
        compose_scenes(SceneSpec(size=(100, 80), scale=(20, 60)))
    with pytest.raises(WorkbenchError, match="more objects asked for than there are"):
        compose_scenes(SceneSpec(n=60, objects="faces", per_image=(2, 2), size=(160, 120), scale=(16, 20)))


def test_written_scenes_import_through_the_coco_importer_with_the_same_boxes(store, tmp_path):
    coco = write_scenes(SMALL, tmp_path / "scenes")
    doc = json.loads(coco.read_text())
    assert [c["name"] for c in doc["categories"]] == SMALL.classes and len(doc["images"]) == 8
    written = sorted((r["file_name"].split("/")[-1], r["label"], r["x"], r["y"], r["w"], r["h"])
                     for r in read_coco_boxes(coco))
    ensure_scenes(store, spec=SMALL)
    assert store.task(SCENES) == "detection" and store.box_classes(SCENES) == SMALL.classes
    names = store.images(SCENES).set_index("image_id")["name"]
    stored = sorted((names[r.image_id].split("/")[-1], r.label, r.x, r.y, r.w, r.h)
                    for r in store.boxes(SCENES).itertuples())
    assert stored == written and len(store.boxed_images(SCENES)) == 8
    ensure_scenes(store, spec=SMALL)  # again: nothing added twice
    assert len(store.boxes(SCENES)) == len(written)



def test_written_from_start_are_the_scenes_that_follow_a_set_of_start(tmp_path):
    first = compose_scenes(SMALL)
    more = SceneSpec(**{**SMALL.__dict__, "n": 12})
    assert all(np.array_equal(x.image, y.image) for x, y in zip(first, compose_scenes(more)))  # scene k is fixed
    doc = json.loads(write_scenes(more, tmp_path / "more", start=8).read_text())
    assert [im["file_name"] for im in doc["images"]] == [f"images/scene_{k:05d}.png" for k in range(8, 12)]
    written = sorted(p.name for p in (tmp_path / "more" / "images").iterdir())
    assert written == [f"scene_{k:05d}.png" for k in range(8, 12)]

def test_cli_lists_the_scenes_demo(home):
    assert SCENES in DEMOS and "composed" in DEMOS[SCENES][0]
    assert main(["demo", "--list"]) == 0
