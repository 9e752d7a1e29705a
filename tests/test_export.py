"""Export to CSV, .xlsx and ImageFolder, and the `workbench export` command."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.labeling import export_table, write_download, write_export


def _label_some(s):
    ids = list(s.images("faces")["image_id"])
    s.add_label(ids[0], "face", "ann")
    s.add_label(ids[1], "not face", "ann")
    s.add_label(ids[1], "face", "bob")
    s.set_image_tag(ids[0], "glasses", "ann")
    s.set_image_tag(ids[0], "dark", "ann")
    s.set_image_tag(ids[2], "other", "bob")  # tagged, not labelled
    return ids


def test_table_rows_per_annotator(faces):
    _label_some(faces)
    names = list(faces.images("faces")["name"])
    t = export_table(faces, "faces")
    assert list(t.columns) == ["filename", "label", "tags", "annotator", "source", "confidence"]
    assert t.iloc[:, :4].values.tolist() == [[names[0], "face", "dark;glasses", "ann"],
                                             [names[1], "not face", "", "ann"],
                                             [names[1], "face", "", "bob"], [names[2], "", "other", "bob"]]
    assert export_table(faces, "faces", annotator="bob")["annotator"].unique().tolist() == ["bob"]
    r = export_table(faces, "faces", resolved=True)
    assert r["filename"].tolist() == names[:2] and r["label"].tolist() == ["face", "face"]  # tie → latest (bob)


def test_csv_and_xlsx_round_trip(faces, home):
    _label_some(faces)
    expected = export_table(faces, "faces")
    csv = write_export(faces, "faces", home / "out" / "labels.csv")
    xlsx = write_export(faces, "faces", home / "out" / "labels.xlsx")
    for got in (pd.read_csv(csv, keep_default_na=False), pd.read_excel(xlsx, keep_default_na=False)):
        assert got.astype(str).values.tolist() == expected.astype(str).values.tolist()


def test_imagefolder_tree(faces, home):
    from PIL import Image

    faces.add_labels("faces", [(i, "face") for i in list(faces.images("faces")["image_id"])[:3]], "ann")
    out = write_export(faces, "faces", home / "tree", annotator="ann")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(files) == 3 and all(f.startswith("face/") for f in files)
    assert Image.open(out / files[0]).size == (25, 25)
    with pytest.raises(WorkbenchError, match="not an empty folder"):
        write_export(faces, "faces", out)


def test_export_bad_input(faces, home):
    with pytest.raises(WorkbenchError, match="no labels"):
        write_export(faces, "faces", home / "empty_tree")
    with pytest.raises(WorkbenchError, match="Unknown export format"):
        write_export(faces, "faces", home / "x.csv", fmt="parquet")


def test_cli_export(faces, home, capsys):
    _label_some(faces)
    assert main(["export", "faces", str(home / "cli.csv")]) == 0
    assert len(pd.read_csv(home / "cli.csv")) == 4
    assert main(["export", "nope", str(home / "x.csv")]) == 2
    assert "No dataset named 'nope'" in capsys.readouterr().err


def test_download_is_one_file_for_every_format(faces, home):
    _label_some(faces)
    names = list(faces.images("faces")["name"])
    csv = write_download(faces, "faces", home / "dl-csv", "csv", resolved=True)
    assert csv.name == "faces-labels.csv" and len(pd.read_csv(csv)) == 2
    tree = write_download(faces, "faces", home / "dl-tree", "imagefolder", annotator="ann")
    with zipfile.ZipFile(tree) as z:
        files = sorted(n for n in z.namelist() if not n.endswith("/"))
    assert files == sorted([f"face/{names[0]}", f"not face/{names[1]}"])


@pytest.mark.filterwarnings("error:.*fill value")  # pandas 3 warns (later ones raise) on "" into a float column
def test_labels_without_any_tag_export_blank_tags(faces):
    ids = list(faces.images("faces")["image_id"])
    faces.add_labels("faces", [(ids[0], "face"), (ids[1], "not face")], "ann")
    for resolved in (False, True):
        t = export_table(faces, "faces", resolved=resolved)
        assert t["tags"].tolist() == ["", ""] and t["label"].tolist() == ["face", "not face"], resolved
