"""Issue 17, items 6, 7 and 8: class and tag names that could not be folder names are refused at every place they
enter (import: ImageFolder tree, label table, --classes, numpy, box classes; the Label tab's classes, tags and box
classes; a training grouping), and `workbench export NAME folder/` says why instead of a traceback; NaN or infinity
in X.npy refuses the import naming the images (--skip-bad imports the rest); a refused import leaves nothing behind:
no datasets/<name>/ folder (images/, converted/), no store rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.data import lfw_subset

from workbench.cli import main as cli
from workbench.data.importers import import_arrays, import_path
from workbench.errors import ImportFailed, WorkbenchError
from workbench.labeling.names import add_classes, add_tags
from workbench.store import checks
from workbench.train.config import parse_grouping

LONG = "x" * 10_000
BAD_NAMES = {LONG: "is 10000 characters long", "a/b": "contains '/'", 'say "hi"': "contains '\"'",
             "why?": "contains '?'", "tab\there": "contains '\\t'", ".": "is a folder's own name",
             "..": "is a folder's own name", "CON": "is a device name", "lpt1.txt": "is a device name",
             "dots.": "ends with '.'", '=HYPERLINK("http://x","y")': "contains '\"' '/' ':'"}


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return (lfw_subset()[:8] * 255).round().astype(np.uint8)


def save_images(folder: Path, arrays, prefix: str = "img") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{prefix}{i}.png" for i in range(len(arrays))]
    for n, a in zip(names, arrays):
        Image.fromarray(a).save(folder / n)
    return names


def assert_nothing_left(store, home: Path, dataset: str) -> None:
    """A refused import: no dataset, no image rows, no folder under datasets/."""
    assert dataset not in store.datasets() and store.image_paths() == []
    leftovers = [p for p in (home / "datasets").iterdir() if p.name != "workbench.sqlite"
                 and not p.name.startswith("workbench.sqlite")] if (home / "datasets").exists() else []
    assert not leftovers, f"left behind: {leftovers}"


def test_the_name_rule():
    for name, why in BAD_NAMES.items():
        assert why in checks.name_problem(name.strip()), name
    for fine in ("open", "not face", "roll_cigs", "0", "=1+2", "@SUM(1;2)", "-2+3", "été", "a.b", "x" * 100):
        assert checks.name_problem(fine) == "", fine
    with pytest.raises(WorkbenchError, match=r"Cannot use tag names: 'a/b' contains '/'; 'CON' is a device name"):
        checks.names(["ok", "a/b", "CON"], "tag")


def test_an_imagefolder_tree_with_a_bad_class_folder_is_refused(store, home, faces):
    save_images(home / "tree" / "open", faces[:3])
    save_images(home / "tree" / ("c" * 150), faces[3:6])  # a legal folder name on Linux, too long for a class
    with pytest.raises(WorkbenchError, match=r"tree: Cannot use class name: 'c{30}…' is 150 characters long"):
        import_path(store, home / "tree")
    assert_nothing_left(store, home, "tree")


@pytest.mark.parametrize("label", ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", LONG, "CON"],
                         ids=["hyperlink", "cmd", "10000 characters", "CON"])
def test_a_label_table_with_a_bad_label_is_refused(store, home, faces, label, capsys):
    names = save_images(home / "imgs", faces[:4])
    pd.DataFrame({"filename": names, "label": ["open", label, "open", label]}).to_csv(home / "imgs" / "t.csv",
                                                                                      index=False)
    assert cli(["import", str(home / "imgs" / "t.csv"), "--name", "t"]) == 2
    err = capsys.readouterr().err
    assert "t.csv: Cannot use class name" in err and "Nothing was imported" in err and "Traceback" not in err
    assert_nothing_left(store, home, "t")


def test_bad_classes_given_on_the_command_line_are_refused(store, home, faces, capsys):
    save_images(home / "loose", faces[:3])
    assert cli(["import", str(home / "loose"), "--classes", "open,a:b"]) == 2
    assert "Cannot use class name: 'a:b' contains ':'" in capsys.readouterr().err
    assert_nothing_left(store, home, "loose")
    np.save(home / "X.npy", faces[:4])
    np.save(home / "y.npy", np.array([0, 1, 0, 1]))
    assert cli(["import", str(home / "X.npy"), "--labels", str(home / "y.npy"), "--classes", f"open,{LONG}"]) == 2
    assert "is 10000 characters long" in capsys.readouterr().err
    assert store.datasets() == []


def test_bad_box_classes_in_a_coco_file_are_refused(store, home, faces):
    names = save_images(home / "coco", faces[:2])
    doc = {"images": [{"id": i, "file_name": n, "width": 25, "height": 25} for i, n in enumerate(names)],
           "annotations": [{"id": 1, "image_id": 0, "category_id": 7, "bbox": [2, 2, 10, 10]}],
           "categories": [{"id": 7, "name": "eye/left"}]}
    (home / "coco" / "boxes.json").write_text(json.dumps(doc))
    with pytest.raises(WorkbenchError, match=r"Cannot use box class name: 'eye/left' contains '/'"):
        import_path(store, home / "coco" / "boxes.json", name="coco")
    assert_nothing_left(store, home, "coco")


def test_the_label_tab_refuses_bad_classes_tags_and_box_classes(faces_any):
    store = faces_any
    with pytest.raises(WorkbenchError, match="Cannot use class name: 'x{30}…' is 10000 characters long"):
        add_classes(store, "faces", f"smile, {LONG}")
    with pytest.raises(WorkbenchError, match=r"Cannot use tag name: 'odd\?' contains '\?'"):
        add_tags(store, "faces", "odd?")
    with pytest.raises(WorkbenchError, match=r"Cannot use box class name: 'NUL' is a device name"):
        store.add_box_classes("faces", ["eye", "NUL"])
    assert "smile" not in store.classes("faces") and "eye" not in store.box_classes("faces")  # nothing half-added
    assert store.add_classes("faces", ["smile"])[-1] == "smile"


@pytest.fixture
def faces_any(faces, store):
    import_arrays(store, faces, name="faces", class_names=["face", "not face"])
    return store


def test_a_grouping_with_a_bad_group_name_is_refused():
    assert parse_grouping("cigs=tobacco, pipes=tobacco") == {"cigs": "tobacco", "pipes": "tobacco"}
    with pytest.raises(WorkbenchError, match=r"Cannot use group name: 'to\|bacco' contains '\|'"):
        parse_grouping("cigs=to|bacco")


def test_exporting_a_class_that_cannot_be_a_folder_says_why(faces_any, home, capsys):
    """A store from before names were checked may hold such a class: the export refuses it with a message."""
    store = faces_any
    store.execute("INSERT INTO classes (dataset_id, name, position) VALUES (?, ?, 2), (?, ?, 3)",
                  (store.dataset_id("faces"), LONG, store.dataset_id("faces"), "a/b"))
    ids = store.images("faces")["image_id"].tolist()
    store.add_label(ids[0], LONG, "ann")
    assert cli(["export", "faces", str(home / "tree")]) == 2
    err = capsys.readouterr().err
    assert "Cannot export class as folders: 'xxxxxxxxxx" in err and "Traceback" not in err
    assert not (home / "tree").exists()
    store.add_label(ids[0], "a/b", "ann")
    store.add_classes("faces", ["a_b"])
    store.add_label(ids[1], "a_b", "ann")
    assert cli(["export", "faces", str(home / "tree")]) == 2
    assert "Classes 'a/b', 'a_b' would share the folder 'a_b'" in capsys.readouterr().err
    assert cli(["export", "faces", str(home / "labels.csv")]) == 0  # a table holds any name
    assert not (home / "tree").exists()


def test_an_export_folder_that_cannot_be_written_says_why(faces_any, home, capsys):
    store = faces_any
    store.add_label(store.images("faces")["image_id"].iloc[0], "face", "ann")
    (home / "file").write_text("not a folder")
    assert cli(["export", "faces", str(home / "file" / "tree")]) == 2
    err = capsys.readouterr().err
    assert "Cannot write the ImageFolder tree" in err and "nothing was exported" in err and "Traceback" not in err


def test_nan_and_infinity_in_x_npy_are_refused_naming_the_images(store, home, faces, capsys):
    x = faces[:6].astype(np.float32) / 255
    x[1, 3, 4] = np.nan
    x[4] = np.inf
    np.save(home / "X.npy", x)
    np.save(home / "y.npy", np.array([0, 1, 0, 1, 0, 1]))
    args = ["import", str(home / "X.npy"), "--labels", str(home / "y.npy"), "--classes", "face,not face", "--name", "n"]
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert "X.npy[1] (00001.png): NaN or infinite pixel values" in err
    assert "X.npy[4] (00004.png): NaN or infinite pixel values" in err and "--skip-bad" in err
    assert_nothing_left(store, home, "n")  # the four good images it had written are gone, folders too
    assert cli([*args, "--skip-bad"]) == 0
    imported = store.images("n")
    assert imported["name"].tolist() == ["00000.png", "00002.png", "00003.png", "00005.png"]
    labels = store.latest_labels("n").merge(imported, on="image_id").sort_values("name")
    assert labels["label"].tolist() == ["face", "face", "not face", "not face"]  # y kept in step
    # the finite images are scaled as they are, not against the infinity
    first = np.asarray(Image.open(imported["path"].iloc[0]))
    assert abs(int(first.astype(int).mean()) - int(faces[0].astype(int).mean())) <= 1


def test_all_images_nonfinite_is_refused(store, home):
    with pytest.raises(WorkbenchError, match="every image holds NaN or infinite pixel values"):
        import_arrays(store, np.full((3, 8, 8), np.nan), name="all-nan", skip_bad=True)
    assert_nothing_left(store, home, "all-nan")


def test_a_refused_folder_import_leaves_no_converted_folder(store, home, faces):
    """A folder of TIFFs (converted to PNG copies on import) with one damaged file: refused, and the converted/
    copies and folders written before the damaged file was reached are gone."""
    (home / "tiffs" / "sub").mkdir(parents=True)
    for i, a in enumerate(faces[:3]):
        Image.fromarray(a).save(home / "tiffs" / "sub" / f"a{i}.tif")
    (home / "tiffs" / "sub" / "z_broken.tif").write_bytes(b"II*\x00 not really a tiff")
    with pytest.raises(ImportFailed, match="z_broken.tif"):
        import_path(store, home / "tiffs", name="tiffs")
    assert_nothing_left(store, home, "tiffs")
