"""Importing each supported format: counts, classes, stats, splits, idempotence, CLI."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.data import lfw_subset
from sklearn.datasets import load_digits

from workbench.cli import main as cli
from workbench.data.importers import detect_format, import_path
from workbench.data.splits import labelled, splits
from workbench.data.quality import quality_categories


@pytest.fixture(scope="module")
def lfw():
    return (lfw_subset() * 255).round().astype(np.uint8)


def write_folder(folder, arrays, prefix="img"):
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, a in enumerate(arrays):
        name = f"{prefix}_{i:03d}.png"
        Image.fromarray(a).save(folder / name)
        names.append(name)
    return names


def test_unlabeled_folder(store, home, lfw):
    write_folder(home / "faces_in", lfw[:20])
    r = import_path(store, home / "faces_in", name="f")
    assert (r.found, r.added, r.labelled) == (20, 20, 0)
    imgs = store.images("f")
    assert imgs.name.tolist() == sorted(imgs.name)
    assert (imgs.width == 25).all() and (imgs["mode"] == "L").all()
    assert imgs.sha256.str.len().eq(64).all()
    # images are used in place, not copied
    assert imgs.path.iloc[0] == str(home / "faces_in" / "img_000.png")


def test_reimport_is_idempotent(store, home, lfw):
    write_folder(home / "in", lfw[:10])
    import_path(store, home / "in", name="f")
    again = import_path(store, home / "in", name="f")
    assert again.added == 0 and len(store.images("f")) == 10
    write_folder(home / "in", lfw[10:12], prefix="new")
    assert import_path(store, home / "in", name="f").added == 2


def test_zip_is_extracted_into_the_dataset_folder(store, home, lfw):
    names = write_folder(home / "src", lfw[:5])
    with zipfile.ZipFile(home / "set.zip", "w") as z:
        for n in names:
            z.write(home / "src" / n, f"crops/{n}")
        z.writestr("crops/readme.txt", "not an image, ignored")
    r = import_path(store, home / "set.zip")
    assert r.dataset == "set" and r.found == 5
    paths = store.images("set").path
    assert all(p.startswith(str(home / "datasets" / "set" / "images")) for p in paths)


def test_imagefolder_tree_is_labelled_by_folder(store, home, lfw):
    write_folder(home / "tree" / "face", lfw[:30])
    write_folder(home / "tree" / "not face", lfw[100:120])
    assert detect_format(home / "tree") == "imagefolder"
    r = import_path(store, home / "tree")
    assert r.labelled == 50
    assert store.classes("tree") == ["face", "not face"]
    assert store.summary("tree")["per_class"] == {"face": 30, "not face": 20}
    sp = splits(store, "tree")
    assert set(sp.split) == {"train", "val", "test"}
    assert sp.groupby("label").size().to_dict() == {"face": 30, "not face": 20}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_table_of_filename_label(store, home, lfw, suffix):
    names = write_folder(home / "imgs", lfw[95:105])
    labels = ["face"] * 5 + ["not face"] * 5
    df = pd.DataFrame({"filename": names, "label": labels})
    table = home / "imgs" / f"labels{suffix}"
    df.to_csv(table, index=False) if suffix == ".csv" else df.to_excel(table, index=False)
    r = import_path(store, table, name="t")
    assert r.labelled == 10 and store.classes("t") == ["face", "not face"]
    got = store.resolved_labels("t")
    names_by_id = store.images("t").set_index("image_id").name
    assert dict(zip(names_by_id[got.index], got)) == dict(zip(names, labels))


def test_numpy_with_indices_and_class_names(store, home):
    d = load_digits()
    x = (d.images[:100] / 16).astype(np.float32)  # float in [0, 1]
    np.save(home / "X.npy", x)
    np.save(home / "y.npy", d.target[:100])
    r = import_path(store, home / "X.npy", labels=home / "y.npy", classes=",".join("zero one two three four five six seven eight nine".split()), name="dg")
    assert r.labelled == 100
    assert store.classes("dg")[:3] == ["zero", "one", "two"]
    got = labelled(store, "dg")
    assert (got.y.values == d.target[:100]).all()
    assert (store.images("dg").height == 8).all()


def test_numpy_one_hot_five_classes(store, home):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (20, 24, 24, 3), dtype=np.uint8)
    y = np.eye(5, dtype=np.uint8)[np.arange(20) % 5]
    np.save(home / "X.npy", x)
    np.save(home / "y.npy", y)
    import_path(store, home / "X.npy", labels=home / "y.npy", classes="other,cigs,pipes,roll_cigs,smoking", name="smk")
    assert store.summary("smk")["per_class"] == {c: 4 for c in ["other", "cigs", "pipes", "roll_cigs", "smoking"]}
    assert (store.images("smk")["mode"] == "RGB").all()


def test_quality_stats_find_dark_low_contrast_blurry_and_inverted(store, home, lfw):
    faces = lfw[:40].copy()
    odd = {
        "dark": (faces[0] * 0.15).astype(np.uint8),
        "low contrast": np.full((25, 25), 128, np.uint8) + (faces[1] // 40),
        "inverted": 255 - faces[2],
    }
    arrays = list(faces[3:]) + list(odd.values())
    write_folder(home / "q", arrays)
    import_path(store, home / "q", name="q")
    imgs = store.images("q")
    cats = quality_categories(imgs)
    by_name = imgs.set_index("image_id").name
    found = cats.assign(name=cats.image_id.map(by_name)).groupby("category").name.apply(set)
    n = len(faces) - 3
    assert f"img_{n:03d}.png" in found["dark"]
    assert f"img_{n + 1:03d}.png" in found["low contrast"]
    assert f"img_{n + 1:03d}.png" in found["blurry"]  # flat image: no edges
    assert f"img_{n + 2:03d}.png" in found["inverted"]
    row = imgs[imgs.name == f"img_{n:03d}.png"].iloc[0]
    assert row.brightness < 0.2 and 0 <= row.contrast < 0.2


def test_demo_sets(faces, digits):
    from workbench.data.demo import faces_truth

    assert faces.summary("faces")["images"] == 200 and faces.summary("faces")["labelled"] == 0
    truth = faces_truth(faces)
    assert truth.value_counts().to_dict() == {"face": 100, "not face": 100}
    first = faces.images("faces").iloc[0]
    assert truth[first.image_id] == "face"
    assert digits.summary("digits")["labelled"] == 1797 and len(digits.classes("digits")) == 10


def test_cli_import_and_help(home, lfw, capsys):
    with pytest.raises(SystemExit):
        cli(["import", "--help"])
    out = capsys.readouterr().out
    for fmt in ("folder", "zip", "imagefolder", "table", "numpy"):
        assert fmt in out
    write_folder(home / "cli_in", lfw[:8])
    assert cli(["import", str(home / "cli_in"), "--name", "c"]) == 0
    assert "8 images found, 8 new" in capsys.readouterr().out
    assert cli(["import", str(home / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_reimport_of_a_labelled_tree_records_no_label_twice(store, home, lfw):
    write_folder(home / "tree" / "face", lfw[:5])
    write_folder(home / "tree" / "not face", lfw[100:103])
    import_path(store, home / "tree")
    again = import_path(store, home / "tree")
    assert again.added == 0 and again.labelled == 0
    assert store.query("SELECT COUNT(*) AS n FROM labels").n[0] == 8


@pytest.mark.parametrize("has_sync", [True, False])
def test_an_import_flushes_its_files_to_disk_once_before_recording_them(store, home, monkeypatch, has_sync):
    """One sync() for the whole import, not a disk flush per image (5,000 of those took minutes on a busy disk);
    without sync() (Windows), an fsync per file, all before the store records any image."""
    import os

    calls = []
    real_fsync = os.fsync
    recorded = lambda: "dg" in store.datasets()  # noqa: E731
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(("fsync", recorded())), real_fsync(fd)))
    if has_sync:
        monkeypatch.setattr(os, "sync", lambda: calls.append(("sync", recorded())), raising=False)
    else:
        monkeypatch.delattr(os, "sync", raising=False)
    d = load_digits()
    np.save(home / "X.npy", d.images[:30].astype(np.uint8))
    import_path(store, home / "X.npy", name="dg")
    assert calls == ([("sync", False)] if has_sync else [("fsync", False)] * 30)
    assert store.count_images("dg") == 30
