"""Boxes in and out: COCO JSON, Pascal VOC XML and YOLO txt imports (format detected), COCO JSON export, round trips
through each, and bad boxes refusing the whole import with each one named. Images are real photos (scikit-image)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from workbench.cli import main as cli
from workbench.data.importers import detect_format, import_path
from workbench.data.overview import counts, overview
from workbench.errors import ImportFailed
from workbench.labeling.box_export import coco_document

# three photos, of different sizes and orientations: (file, width, height)
PHOTOS = [("astronaut.jpg", 160, 120), ("coffee.png", 90, 150), ("chelsea.jpg", 120, 80)]


def _photos(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for (name, w, h), pixels in zip(PHOTOS, (data.astronaut(), data.coffee(), data.chelsea())):
        Image.fromarray(pixels).resize((w, h)).save(folder / name)


# the truth every format encodes: image -> [(class, x, y, w, h)] in pixels; chelsea.jpg is boxed with no objects
TRUTH = {"astronaut.jpg": [("face", 60, 10, 40, 45), ("badge", 20, 70, 16, 12)],
         "coffee.png": [("cup", 5, 40, 80, 70)], "chelsea.jpg": []}
CLASSES = ["face", "badge", "cup"]


def _write_coco(folder: Path, truth=TRUTH, extra_annotations=()) -> Path:
    ids = {n: k for k, n in enumerate(truth, 11)}
    cat = {c: 3 + 4 * k for k, c in enumerate(CLASSES)}  # COCO ids need not be 0..n-1
    anns = [{"id": len(ids) * 10 + k, "image_id": ids[n], "category_id": cat[c], "bbox": [x, y, w, h]}
            for n, boxes in truth.items() for k, (c, x, y, w, h) in enumerate(boxes)]
    doc = {"images": [{"id": ids[n], "file_name": n, "width": w, "height": h} for n, w, h in PHOTOS],
           "annotations": anns + list(extra_annotations),
           "categories": [{"id": i, "name": c} for c, i in cat.items()]}
    path = folder / "boxes.json"
    path.write_text(json.dumps(doc))
    return path


def _stored(store, dataset) -> dict:
    got = store.boxes(dataset)
    names = store.images(dataset).set_index("image_id")["name"]
    out = {n: [] for n in store.boxed_images(dataset).image_id.map(names)}
    for b in got.itertuples():
        out[names[b.image_id]].append((b.label, round(b.x, 3), round(b.y, 3), round(b.w, 3), round(b.h, 3)))
    return out


def _exported_truth(doc: dict) -> dict:
    cats = {c["id"]: c["name"] for c in doc["categories"]}
    files = {i["id"]: i["file_name"] for i in doc["images"]}
    out = {f: [] for f in files.values()}
    for a in doc["annotations"]:
        out[files[a["image_id"]]].append((cats[a["category_id"]], *[round(v, 3) for v in a["bbox"]]))
    return out


def test_coco_imports_with_its_boxes_and_round_trips_through_the_export(store, home):
    _photos(home / "photos")
    path = _write_coco(home / "photos")
    assert detect_format(path) == "coco"
    assert cli(["import", str(path), "--name", "c"]) == 0
    assert _stored(store, "c") == TRUTH
    assert store.task("c") == "detection" and store.box_classes("c") == CLASSES
    # the Datasets tab's tables say what boxes the set holds
    row = overview(store).set_index("dataset").loc["c"]
    assert row["classes"] == "boxes: face (1), badge (1), cup (1)"
    table = counts(store, "c").set_index(["kind", "name"])["images"]
    assert table[("boxes", "(images boxed)")] == 3 and table[("box class", "cup")] == 1
    assert set(store.boxes("c").how) == {"imported"}
    # out as COCO, and back in as a new set: the same boxes
    assert cli(["export", "c", str(home / "out.json")]) == 0
    doc = json.loads((home / "out.json").read_text())
    assert _exported_truth(doc) == TRUTH and {i["file_name"]: (i["width"], i["height"]) for i in doc["images"]} == \
        {n: (w, h) for n, w, h in PHOTOS}
    assert cli(["import", str(home / "out.json"), "--images", str(home / "photos"), "--name", "again"]) == 0
    assert _stored(store, "again") == TRUTH
    # importing the same file again adds no box twice
    assert cli(["import", str(path), "--name", "c"]) == 0
    assert len(store.boxes("c")) == 3
    # a tool's generic file name (CVAT's instances_default.json) names the set after its folder
    path.rename(home / "photos" / "instances_default.json")
    assert cli(["import", str(home / "photos" / "instances_default.json")]) == 0 and "photos" in store.datasets()


def _write_voc(root: Path, truth=TRUTH) -> None:
    _photos(root / "JPEGImages")
    (root / "Annotations").mkdir()
    sizes = {n: (w, h) for n, w, h in PHOTOS}
    for name, boxes in truth.items():
        objects = "".join(f"<object><name>{c}</name><difficult>0</difficult><bndbox><xmin>{x}</xmin><ymin>{y}</ymin>"
                          f"<xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>" for c, x, y, w, h in boxes)
        w, h = sizes[name]
        (root / "Annotations" / (Path(name).stem + ".xml")).write_text(
            f"<annotation><folder>JPEGImages</folder><filename>{name}</filename><size><width>{w}</width>"
            f"<height>{h}</height><depth>3</depth></size>{objects}</annotation>")


def test_pascal_voc_imports_with_its_boxes_and_round_trips_through_coco(store, home):
    _write_voc(home / "voc")
    assert detect_format(home / "voc") == "voc"
    result = import_path(store, home / "voc", name="v")
    assert result.boxes == 3
    stored = _stored(store, "v")
    assert stored == {f"JPEGImages/{n}": b for n, b in TRUTH.items()}
    assert _exported_truth(coco_document(store, "v")) == stored


def _write_yolo(root: Path, truth=TRUTH, names=CLASSES) -> None:
    _photos(root / "images" / "train")
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nnames:\n" + "".join(f"  {k}: {c}\n"
                                                                                   for k, c in enumerate(names)))
    sizes = {n: (w, h) for n, w, h in PHOTOS}
    for name, boxes in truth.items():
        W, H = sizes[name]
        lines = [f"{CLASSES.index(c)} {(x + w / 2) / W:.6f} {(y + h / 2) / H:.6f} {w / W:.6f} {h / H:.6f}"
                 for c, x, y, w, h in boxes]
        if lines:  # chelsea has no label file: no objects, as in Ultralytics
            (root / "labels" / "train" / (Path(name).stem + ".txt")).write_text("\n".join(lines) + "\n")


def test_yolo_imports_boxes_in_pixels_and_round_trips_through_coco(store, home):
    _write_yolo(home / "yolo")
    assert detect_format(home / "yolo") == "yolo" and detect_format(home / "yolo" / "data.yaml") == "yolo"
    import_path(store, home / "yolo", name="y")
    stored = {n.removeprefix("images/train/"): [(c, *np.round(b, 1)) for c, *b in boxes]
              for n, boxes in _stored(store, "y").items()}
    assert stored == TRUTH  # within 6-decimal fractions of these sizes
    assert store.box_classes("y") == CLASSES
    assert _exported_truth(coco_document(store, "y")) == _stored(store, "y")


def _refused(store, home, path, *, name, **kw) -> str:
    with pytest.raises(ImportFailed) as e:
        import_path(store, path, name=name, **kw)
    assert name not in store.datasets()  # nothing half-imported
    assert not (home / "datasets" / name).exists() or not any((home / "datasets" / name).rglob("*.*"))
    return str(e.value)


def test_bad_coco_boxes_refuse_the_import_each_named(store, home):
    _photos(home / "photos")
    bad = [{"id": 901, "image_id": 11, "category_id": 3, "bbox": [150, 10, 20, 20]},  # past astronaut's right edge
           {"id": 902, "image_id": 12, "category_id": 7, "bbox": [5, 5, 0, 10]},  # zero width
           {"id": 903, "image_id": 99, "category_id": 3, "bbox": [1, 1, 5, 5]},  # no such image
           {"id": 904, "image_id": 13, "category_id": 42, "bbox": [1, 1, 5, 5]},  # no such category
           {"id": 905, "image_id": 13, "category_id": 3, "bbox": [-4, 1, 5, 5]}]  # left of the image
    path = _write_coco(home / "photos", extra_annotations=bad)
    msg = _refused(store, home, path, name="bad")
    for ann, why in [(901, "outside the 160×120 image"), (902, "non-positive size"), (903, "image_id 99"),
                     (904, "unknown category_id 42"), (905, "outside the 120×80 image")]:
        assert f"annotation {ann}" in msg and why in msg
    assert "5 problem(s)" in msg
    assert cli(["import", str(path), "--name", "bad"]) == 2


def test_bad_voc_and_yolo_boxes_refuse_the_import_each_named(store, home):
    _write_voc(home / "voc", {**TRUTH, "coffee.png": [("cup", 5, 40, 80, 200)]})
    (home / "voc" / "Annotations" / "ghost.xml").write_text("<annotation><filename>ghost.jpg</filename></annotation>")
    msg = _refused(store, home, home / "voc", name="voc", classes=["face", "cup"])
    assert "Annotations/coffee.xml object 1" in msg and "outside the 90×150 image" in msg
    assert "Annotations/ghost.xml" in msg and "'ghost.jpg'" in msg
    assert "Annotations/astronaut.xml object 2" in msg and "unknown class 'badge'" in msg

    _write_yolo(home / "yolo")
    labels = home / "yolo" / "labels" / "train"
    (labels / "astronaut.txt").write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.1 0.1\n0 0.95 0.5 0.2 0.2\n1 0.5 0.5\n")
    (labels / "stray.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    msg = _refused(store, home, home / "yolo", name="yolo")
    assert "astronaut.txt:2" in msg and "unknown class index 7" in msg
    assert "astronaut.txt:3" in msg and "outside the 160×120 image" in msg
    assert "astronaut.txt:4" in msg and "labels/train/stray.txt" in msg and "4 problem(s)" in msg


def test_yolo_without_class_names_asks_for_them(store, home):
    _write_yolo(home / "yolo")
    (home / "yolo" / "data.yaml").unlink()
    with pytest.raises(Exception, match="--classes"):
        import_path(store, home / "yolo", fmt="yolo", name="y")
    import_path(store, home / "yolo", fmt="yolo", name="y", classes="face,badge,cup")
    assert len(store.boxes("y")) == 3
