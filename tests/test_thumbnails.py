"""The one 16-px thumbnail pipeline: what import's inversion score compares is what the "similar" order clusters,
and the per-dataset cache holds only thumbnails made by this pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from workbench.data import quality
from workbench.data import thumbnails as T


def _photo(seed: int = 0, mode: str = "L", size: int = 25) -> Image.Image:
    a = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    im = Image.fromarray(a)
    return im.convert("L") if mode == "L" else im


def test_a_thumbnail_is_a_bilinear_grey_16x16_in_uint8():
    im = _photo(mode="RGB")
    t = T.thumbnail(im)
    assert t.shape == (256,) and t.dtype == np.uint8
    expected = np.asarray(im.convert("L").resize((16, 16), Image.BILINEAR)).ravel()
    np.testing.assert_array_equal(t, expected)
    assert not np.array_equal(t, np.asarray(im.convert("L").resize((16, 16), Image.BICUBIC)).ravel())


def test_the_import_statistics_use_the_same_thumbnail():
    for seed, mode in [(0, "L"), (1, "RGB")]:
        im = _photo(seed, mode)
        *_, thumb = quality.image_stats(im)
        assert thumb.dtype == np.float32
        np.testing.assert_allclose(thumb * 255, T.thumbnail(im), atol=1e-4)


def test_the_cache_is_filled_once_and_an_other_pipelines_cache_is_ignored(tmp_path, monkeypatch):
    files = []
    for i in range(3):
        files.append(tmp_path / f"{i}.png")
        _photo(i).save(files[-1])
    images = pd.DataFrame({"sha256": ["a", "b", "c"], "path": [str(f) for f in files]})
    x = T.cached_thumbnails(tmp_path / "ds", images)
    assert x.shape == (3, 256) and x.dtype == np.float32
    np.testing.assert_array_equal(x[1], T.thumbnail(_photo(1)))
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["thumbnails16.npz"]  # no temporary file left
    with monkeypatch.context() as m:
        m.setattr(T, "load_image", lambda p: (_ for _ in ()).throw(AssertionError("decoded again")))
        np.testing.assert_array_equal(T.cached_thumbnails(tmp_path / "ds", images.iloc[::-1]), x[::-1])
    # a cache written by the older bicubic pipeline (no pipeline key) is not mixed with new thumbnails
    np.savez(tmp_path / "ds" / "thumbnails16.npz", sha256=np.array(["a", "b", "c"]),
             pixels=np.full((3, 256), 7, np.uint8))
    np.testing.assert_array_equal(T.cached_thumbnails(tmp_path / "ds", images), x)


def test_an_unreadable_file_gets_a_blank_thumbnail(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    images = pd.DataFrame({"sha256": ["x", "y"], "path": [str(tmp_path / "bad.png"), str(tmp_path / "gone.png")]})
    assert not T.cached_thumbnails(tmp_path, images).any()


def test_the_28px_grey_crops_for_suggestions_are_cached_beside_the_16px_thumbnails(tmp_path):
    """Label suggestions read 28×28 grey crops (HOG and the CNN) through the same pipeline, in a cache of their own."""
    _photo(0, "RGB", size=40).save(tmp_path / "0.png")
    images = pd.DataFrame({"sha256": ["a"], "path": [str(tmp_path / "0.png")]})
    small = T.cached_thumbnails(tmp_path / "ds", images)
    crops = T.cached_thumbnails(tmp_path / "ds", images, side=28)
    assert small.shape == (1, 256) and crops.shape == (1, 784)
    grey = _photo(0, "RGB", 40).convert("L")
    np.testing.assert_array_equal(crops[0], np.asarray(grey.resize((28, 28), Image.BILINEAR)).ravel())
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["thumbnails16.npz", "thumbnails28.npz"]
    np.testing.assert_array_equal(T.cached_thumbnails(tmp_path / "ds", images), small)   # the 16 px cache untouched
