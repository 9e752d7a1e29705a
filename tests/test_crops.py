"""Crops at import: faces and eyes found by OpenCV's Haar cascades in a real photo (skimage's astronaut), each crop
a grey size×size image that remembers its photo and box; photos without a face listed; corrupt files refuse all."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pandas as pd
import pytest
import skimage.data
from PIL import Image

from workbench.cli import main as cli
from workbench.data.importers.crops import read_crops_csv
from workbench.data.importers import import_path
from workbench.errors import ImportFailed, WorkbenchError


@pytest.fixture
def photos(home):
    folder = home / "photos"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    Image.fromarray(skimage.data.coffee()).save(folder / "coffee.png")  # a cup, no face
    return folder


def box_of(source: str) -> tuple[str, tuple[int, int, int, int]]:
    photo, frag = source.split("#")
    x, y, w, h = map(int, re.fullmatch(r"xywh=(\d+),(\d+),(\d+),(\d+)", frag).groups())
    return photo, (x, y, w, h)


def recrop(photo, box, size):
    x, y, w, h = box
    return np.asarray(Image.open(photo).convert("L").crop((x, y, x + w, y + h)).resize((size, size), Image.LANCZOS))


def test_astronaut_gives_one_face_and_two_eyes(store, photos):
    faces = import_path(store, photos, crop="faces", crop_size=24)
    eyes = import_path(store, photos, crop="eyes", crop_size=32)
    assert (faces.dataset, faces.found, faces.without) == ("photos-faces", 1, ["coffee.png"])
    assert (eyes.dataset, eyes.found, eyes.without) == ("photos-eyes", 2, ["coffee.png"])
    assert "no face found: coffee.png" in str(faces)
    face_img, eye_imgs = store.images("photos-faces"), store.images("photos-eyes")
    assert face_img.name.tolist() == ["astronaut.face0.png"]
    assert eye_imgs.name.tolist() == ["astronaut.face0.eye0.png", "astronaut.face0.eye1.png"]
    for imgs, size in ((face_img, 24), (eye_imgs, 32)):
        assert (imgs.width == size).all() and (imgs.height == size).all() and (imgs["mode"] == "L").all()
        for r in imgs.itertuples():  # the stored photo and box give back exactly the saved crop
            photo, box = box_of(r.source)
            assert photo == str(photos / "astronaut.png")
            assert np.array_equal(np.asarray(Image.open(r.path)), recrop(photo, box, size))
    fx, fy, fw, fh = box_of(face_img.source[0])[1]
    assert 150 < fx < 200 and 40 < fy < 90 and 80 < fw < 120  # her face, not elsewhere in the 512x512 photo
    eye_boxes = [box_of(s)[1] for s in eye_imgs.source]
    for x, y, w, h in eye_boxes:  # inside the face's upper part, one on each side
        assert fx <= x and x + w <= fx + fw and fy <= y and y + h <= fy + fh * 0.6
    assert eye_boxes[0][0] + eye_boxes[0][2] / 2 < fx + fw / 2 < eye_boxes[1][0] + eye_boxes[1][2] / 2


def test_crops_csv_lists_photo_and_box_without_duplicates(store, photos):
    import_path(store, photos, crop="eyes")
    again = import_path(store, photos, crop="eyes")
    assert again.added == 0 and len(store.images("photos-eyes")) == 2
    table = read_crops_csv(store, "photos-eyes")
    assert table.name.tolist() == ["astronaut.face0.eye0.png", "astronaut.face0.eye1.png"]
    assert (table.kind == "eye").all() and (table.face == 0).all()
    stored = store.images("photos-eyes").set_index("name").source
    for r in table.itertuples():
        assert stored[r.name] == f"{r.photo}#xywh={r.x},{r.y},{r.w},{r.h}"


def test_corrupt_photo_refuses_the_whole_import(store, home, photos):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    with pytest.raises(ImportFailed, match="broken.jpg: corrupt or truncated"):
        import_path(store, photos, crop="faces")
    assert "photos-faces" not in store.datasets()
    assert not [f for f in (home / "datasets").rglob("*.png")]  # no crop file left behind
    assert read_crops_csv(store, "photos-faces").empty
    r = import_path(store, photos, crop="faces", skip_bad=True)
    assert r.found == 1 and [f for f, _ in r.skipped] == [str(photos / "broken.jpg")] and r.without == ["coffee.png"]


def test_labelled_tree_and_zip(store, home, photos):
    tree = home / "tree"
    (tree / "astronaut").mkdir(parents=True)
    (tree / "cup").mkdir()
    (photos / "astronaut.png").rename(tree / "astronaut" / "a.png")
    (photos / "coffee.png").rename(tree / "cup" / "c.png")
    r = import_path(store, tree, crop="faces", crop_size=16)
    assert r.found == 1 and r.labelled == 1 and r.without == ["cup/c.png"]
    assert store.classes("tree-faces") == ["astronaut", "cup"]
    with zipfile.ZipFile(home / "trip.zip", "w") as z:
        z.write(tree / "astronaut" / "a.png", "day1/a.png")
    r = import_path(store, home / "trip.zip", crop="eyes", name="trip")
    assert r.found == 2
    assert store.images("trip").source.str.startswith(f"{home / 'trip.zip'}:day1/a.png#xywh=").all()


def test_bad_requests_say_what_is_wrong(store, home, photos):
    (photos / "astronaut.png").unlink()
    with pytest.raises(WorkbenchError, match="No face found in any of the 1 photos"):
        import_path(store, photos, crop="faces")
    with pytest.raises(WorkbenchError, match="Unknown crop 'noses'; choose one of: faces, eyes"):
        import_path(store, photos, crop="noses")
    with pytest.raises(WorkbenchError, match="between 8 and 1024"):
        import_path(store, photos, crop="faces", crop_size=2)
    pd.DataFrame({"filename": ["coffee.png"], "label": ["cup"]}).to_csv(photos / "labels.csv", index=False)
    with pytest.raises(WorkbenchError, match="not a table import"):
        import_path(store, photos / "labels.csv", crop="faces")
    assert store.datasets() == []


def test_cli_import_with_crop(store, photos, capsys):
    assert cli(["import", str(photos), "--crop", "eyes", "--size", "24", "--name", "eyes"]) == 0
    out = capsys.readouterr().out
    assert "2 eyes crops from 2 photos" in out and "no eye found: coffee.png" in out
    assert len(store.images("eyes")) == 2
    with pytest.raises(SystemExit):
        cli(["import", str(photos), "--crop", "noses"])
    assert "invalid choice: 'noses'" in capsys.readouterr().err


@pytest.mark.slow
def test_datasets_tab_imports_crops(store, photos):
    from gradio_client import Client

    from browser.appserver import served

    with served(store) as url:
        client = Client(url, verbose=False)
        status, *_ = client.predict(str(photos), "auto", "", "", "", "", False, "eyes", 24, api_name="/import_path")
    assert "2 eyes crops from 2 photos" in status and "no eye found: coffee.png" in status
    imgs = store.images("photos-eyes")
    assert len(imgs) == 2 and (imgs.width == 24).all() and imgs.source.str.contains("#xywh=").all()
