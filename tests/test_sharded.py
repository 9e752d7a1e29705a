"""Big-set embeddings and predictions: DataLoader workers into memory-mapped .npy shards."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from workbench.data.sharded import Sharded, map_to_shards
from workbench.errors import WorkbenchError
from workbench.review.embeddings import embed
from workbench.train.config import Augment, RunConfig
from workbench.train.loop import train
from workbench.train.predict import embed_to_shards, predict, predict_to_shards
from workbench.train.runs import load_run


def _pngs(folder, n: int) -> list:
    rng = np.random.default_rng(0)
    folder.mkdir()
    files = []
    for i in range(n):
        p = folder / f"{i:04d}.png"
        Image.fromarray(rng.integers(0, 256, (12, 12), dtype=np.uint8)).save(p)
        files.append(p)
    return files


def test_rows_in_file_order_across_shards(tmp_path):
    files = _pngs(tmp_path / "imgs", 150)
    seen = []
    out = map_to_shards(lambda u8: u8.float().mean((2, 3)), files, tmp_path / "means", size=12, channels=1,
                        batch_size=16, workers=2, shard_rows=64, progress=lambda done, n: seen.append((done, n)))
    assert [len(c) for c in out.chunks()] == [64, 64, 22]  # three shards, the last sized to what was left
    assert all(isinstance(c, np.memmap) for c in out.chunks())
    expected = np.array([[np.asarray(Image.open(f), np.float32).mean()] for f in files])
    np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-6)
    assert seen[-1] == (150, 150) and len(out) == 150
    # done again with fewer files: the folder is replaced whole, no stale shard left behind
    again = map_to_shards(lambda u8: u8.float().mean((2, 3)), files[:10], tmp_path / "means", size=12, channels=1,
                          batch_size=16, workers=0, shard_rows=64)
    assert len(again.parts) == 1 and len(Sharded(tmp_path / "means")) == 10


def test_a_failure_midway_keeps_the_old_shards_and_leaves_no_temporary_folder(tmp_path):
    files = _pngs(tmp_path / "imgs", 40)
    means = lambda u8: u8.float().mean((2, 3))  # noqa: E731
    before = map_to_shards(means, files, tmp_path / "means", size=12, channels=1, batch_size=8, workers=0,
                           shard_rows=16).to_numpy()
    calls = []

    def fails_late(u8):
        calls.append(1)
        if len(calls) == 4:  # after two shards are written
            raise RuntimeError("killed")
        return u8.float().mean((2, 3)) + 1

    with pytest.raises(RuntimeError, match="killed"):
        map_to_shards(fails_late, files, tmp_path / "means", size=12, channels=1, batch_size=8, workers=0,
                      shard_rows=16)
    np.testing.assert_array_equal(Sharded(tmp_path / "means").to_numpy(), before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs", "means"]


def test_shard_rows_must_hold_whole_batches(tmp_path):
    with pytest.raises(WorkbenchError, match="multiple of batch_size"):
        map_to_shards(lambda u8: u8, [], tmp_path / "x", size=8, channels=1, batch_size=32, shard_rows=100)


@pytest.mark.slow
def test_sharded_predictions_and_embeddings_equal_in_memory(ws, store, digits_sample):
    # the standard stem named (auto picks the small one at 32 px, 4x the work): shards do not depend on it
    run = train(ws, RunConfig(digits_sample, method="feature_extract", input_size=32, stem="standard", epochs=1,
                              name="small", augment=Augment(flip=False, rotation=0, crop_scale=1))).run
    loaded = load_run(ws.run(run))
    files = store.images(digits_sample).path.tolist()[:300]
    probs = predict_to_shards(loaded, files, loaded.run_dir / "probs", batch_size=64, shard_rows=128).to_numpy()
    np.testing.assert_allclose(probs, predict(loaded, files), atol=1e-5)
    feats = embed_to_shards(loaded, files, loaded.run_dir / "feats", batch_size=64, shard_rows=128).to_numpy()
    np.testing.assert_allclose(feats, embed(loaded, files), atol=1e-4)

