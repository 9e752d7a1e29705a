"""Bad input: each kind gets a message naming the file and the reason, and nothing is half-imported."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.data import lfw_subset

from workbench.data.importers import import_path
from workbench.errors import ImportFailed, WorkbenchError


@pytest.fixture
def good(home):
    """A folder with 6 real face images."""
    folder = home / "in"
    folder.mkdir()
    for i, a in enumerate((lfw_subset()[:6] * 255).astype(np.uint8)):
        Image.fromarray(a).save(folder / f"face_{i}.png")
    return folder


def png_bytes(im: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def assert_refused(store, home, path, file_part, reason_part, **kw):
    with pytest.raises(WorkbenchError) as err:
        import_path(store, path, name="bad", **kw)
    msg = str(err.value)
    assert file_part in msg and reason_part in msg, msg
    assert "bad" not in store.datasets()  # nothing half-imported
    assert not (home / "datasets" / "bad").exists() or not any((home / "datasets" / "bad").rglob("*.*"))
    return msg


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image(store, home, good, fmt):
    data = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)), fmt)
    (good / f"cut.{fmt.lower()}").write_bytes(data[: len(data) // 2])
    assert_refused(store, home, good, f"cut.{fmt.lower()}", "corrupt or truncated")


def test_corrupt_png_body(store, home, good):
    data = bytearray(png_bytes(Image.new("L", (30, 30), 7)))
    data[40:60] = b"\x00" * 20  # break the IDAT chunk
    (good / "broken.png").write_bytes(bytes(data))
    assert_refused(store, home, good, "broken.png", "corrupt or truncated")


def test_zero_byte_file(store, home, good):
    (good / "empty.png").write_bytes(b"")
    assert_refused(store, home, good, "empty.png", "empty file (0 bytes)")


def test_non_image_with_image_extension(store, home, good):
    (good / "notes.jpg").write_text("these are my notes, not a picture")
    assert_refused(store, home, good, "notes.jpg", "not an image file")


def test_decompression_bomb_is_refused(store, home, good, monkeypatch):
    Image.new("L", (200, 200)).save(good / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # the guard stays on; a smaller limit makes the test cheap
    assert_refused(store, home, good, "huge.png", "decompression bomb")


def test_skip_bad_imports_the_rest_and_lists_what_it_skipped(store, good):
    (good / "empty.png").write_bytes(b"")
    r = import_path(store, good, name="ok", skip_bad=True)
    assert r.found == 6 and [f for f, _ in r.skipped][0].endswith("empty.png")
    assert len(store.images("ok")) == 6


def test_cmyk_16bit_rgba_and_palette_are_converted(store, home, good):
    rgb = Image.fromarray((lfw_subset()[0] * 255).astype(np.uint8)).convert("RGB")
    rgb.convert("CMYK").save(good / "cmyk.jpg")
    Image.fromarray((lfw_subset()[1] * 65535).astype(np.uint16)).save(good / "deep.png")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(good / "alpha.png")
    rgb.convert("P", palette=Image.ADAPTIVE).save(good / "pal.gif")
    import_path(store, good, name="modes")
    imgs = store.images("modes").set_index("name")
    assert imgs.loc["cmyk.jpg", "mode"] == "CMYK"
    assert imgs.loc["deep.png", "mode"].startswith("I")
    for name in ("cmyk.jpg", "deep.png", "alpha.png"):
        converted = Image.open(imgs.loc[name, "path"])
        assert converted.mode in ("L", "RGB") and converted.size == (25, 25)
        assert imgs.loc[name, "source"].endswith(name)
    deep = np.asarray(Image.open(imgs.loc["deep.png", "path"]), dtype=float)
    assert abs(deep.mean() / 255 - lfw_subset()[1].mean()) < 0.01  # scaled, not clipped to white
    assert imgs.loc["pal.gif", "mode"] == "P"


def test_exif_rotated_jpeg_is_turned_upright(store, good):
    im = Image.new("RGB", (40, 20), (255, 255, 255))
    im.paste((0, 0, 0), (0, 0, 10, 20))  # dark stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    im.save(good / "rotated.jpg", exif=exif.tobytes(), quality=95)
    import_path(store, good, name="rot")
    row = store.images("rot").set_index("name").loc["rotated.jpg"]
    assert (row.width, row.height) == (20, 40)
    upright = np.asarray(Image.open(row.path).convert("L"))
    assert upright[:10].mean() < 60 and upright[-10:].mean() > 200  # the stripe is now on top


def test_zip_slip_entry_refuses_the_archive(store, home):
    with zipfile.ZipFile(home / "evil.zip", "w") as z:
        z.writestr("ok.png", png_bytes(Image.new("L", (8, 8))))
        z.writestr("../../escaped.png", png_bytes(Image.new("L", (8, 8))))
    msg = assert_refused(store, home, home / "evil.zip", "../../escaped.png", "zip-slip")
    assert "escapes" in msg
    assert not (home.parent / "escaped.png").exists() and not (home / "escaped.png").exists()


def test_csv_naming_a_missing_file(store, home, good):
    pd.DataFrame({"filename": ["face_0.png", "ghost.png"], "label": ["a", "b"]}).to_csv(good / "l.csv", index=False)
    assert_refused(store, home, good / "l.csv", "ghost.png", "not found")


def test_csv_with_an_unknown_label(store, home, good):
    store.create_dataset("bad", classes=["open", "closed"])
    store.delete_dataset("bad")
    pd.DataFrame({"filename": ["face_0.png", "face_1.png"], "label": ["open", "shut"]}).to_csv(good / "l.csv", index=False)
    assert_refused(store, home, good / "l.csv", "face_1.png", "unknown label 'shut'", classes="open,closed")


def test_y_length_differs_from_x(store, home):
    np.save(home / "X.npy", np.zeros((10, 24, 24), np.uint8))
    np.save(home / "y.npy", np.zeros(9, np.int64))
    assert_refused(store, home, home / "X.npy", "y.npy", "has 9 labels but the images array has 10", labels=home / "y.npy")


def test_pickled_numpy_is_refused(store, home):
    np.save(home / "X.npy", np.array([object()], dtype=object), allow_pickle=True)
    assert_refused(store, home, home / "X.npy", "X.npy", "pickled")


def test_empty_folder(store, home):
    (home / "nothing").mkdir()
    assert_refused(store, home, home / "nothing", "nothing", "No image files found")


def test_refused_import_into_existing_dataset_keeps_it_intact(store, good):
    import_path(store, good, name="keep")
    (good / "empty.png").write_bytes(b"")
    with pytest.raises(ImportFailed):
        import_path(store, good, name="keep")
    assert len(store.images("keep")) == 6
