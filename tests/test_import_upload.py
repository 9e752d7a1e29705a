"""Uploads (the Datasets tab's, the Predict tab's): each path sorted as a .zip, a folder, a file or missing by one
rule, then imported as a zip, a folder or copied files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.data.importers import import_upload, split_classes
from workbench.data.uploads import sort_paths, upload_paths
from workbench.errors import ImportFailed, WorkbenchError


def _pngs(folder: Path, n: int, prefix: str = "p") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(prefix) + n)
    out = []
    for i in range(n):
        out.append(folder / f"{prefix}{i}.png")
        Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8)).save(out[-1])
    return out


def _zip(path: Path, files: list[Path]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for f in files:
            z.write(f, f"in/{f.name}")
    return path


class Upload:  # what older gradio versions hand a handler: a temp file object with the path in `.name`
    def __init__(self, name: str):
        self.name = name


def test_upload_paths_take_gradio_values_in_order(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "sub" / "b.png"
    got = upload_paths([str(a), Upload(str(b))], None, "", b, [])
    assert got == [a, b, b]  # a Path keeps its whole path (not its .name)
    assert upload_paths(None, []) == []


def test_each_path_is_sorted_as_a_zip_a_folder_a_file_or_missing(tmp_path):
    files = _pngs(tmp_path / "imgs", 2)
    z = _zip(tmp_path / "set.ZIP", files)
    odd = tmp_path / "folder.zip"
    odd.mkdir()  # a folder named .zip is a folder
    (tmp_path / "notes.txt").write_text("x")
    given = [z, tmp_path / "imgs", files[0], odd, tmp_path / "notes.txt", tmp_path / "gone.zip"]
    assert [k for k, _ in sort_paths(map(str, given))] == ["zip", "folder", "file", "folder", "file", "missing"]
    assert [p for _, p in sort_paths(given)] == given


def test_one_zip_is_a_dataset_named_after_it(store, home):
    z = _zip(home / "holiday.zip", _pngs(home / "src", 3))
    r = import_upload(store, [z], classes="open, closed,")
    assert (r.dataset, r.found) == ("holiday", 3)
    assert store.classes("holiday") == ["open", "closed"]
    assert store.images("holiday").name.tolist() == ["in/p0.png", "in/p1.png", "in/p2.png"]
    assert store.query("SELECT source FROM datasets")["source"].tolist() == [str(z.resolve())]


def test_files_are_copied_into_the_upload_dataset(store, home):
    files = _pngs(home / "tmp-upload", 2)
    r = import_upload(store, [str(f) for f in files])
    assert (r.dataset, r.found) == ("upload", 2)
    paths = store.images("upload").path.tolist()
    assert all(Path(p).parent == home / "datasets" / "upload" / "images" for p in paths)  # not left in temp
    assert import_upload(store, files[:1], name="mine").dataset == "mine"


def test_one_folder_is_imported_in_place(store, home):
    _pngs(home / "shots", 2)
    r = import_upload(store, [home / "shots"])
    assert r.dataset == "shots" and store.images("shots").path.iloc[0] == str(home / "shots" / "p0.png")


def test_several_zips_folders_and_files_go_into_one_dataset(store, home):
    z = _zip(home / "a.zip", _pngs(home / "z", 2, "z"))
    _pngs(home / "f", 1, "f")
    one = _pngs(home / "loose", 1, "l")[0]
    with pytest.raises(ImportFailed, match="gone.png: no such file or folder"):
        import_upload(store, [z, home / "f", one, home / "gone.png"], name="mix")
    assert "mix" not in store.datasets()
    r = import_upload(store, [z, home / "f", one, home / "gone.png"], name="mix", skip_bad=True)
    assert sorted(store.images("mix").name) == ["f0.png", "in/z0.png", "in/z1.png", "l0.png"]
    assert r.skipped == [(str(home / "gone.png"), "no such file or folder")]


def test_nothing_uploaded_or_an_escaping_zip_is_refused(store, home):
    with pytest.raises(WorkbenchError, match="Choose a .zip or image files"):
        import_upload(store, [])
    with zipfile.ZipFile(home / "evil.zip", "w") as z:
        z.writestr("../x.png", b"x")
    with pytest.raises(ImportFailed, match="zip-slip"):
        import_upload(store, [home / "evil.zip"])
    assert store.datasets() == []


def test_class_names_from_a_list_or_a_comma_separated_string():
    assert split_classes(" a, b ,,c ") == ["a", "b", "c"]
    assert split_classes(["x", "y"]) == ["x", "y"] and split_classes(None) == [] and split_classes("") == []
