"""Training end to end on the bundled demo sets: curves, checkpoints, reproducibility, learning."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.data.importers import import_path
from workbench.data.splits import labelled
from workbench.metrics import classification_metrics
from workbench.run import list_runs
from workbench.train.config import RunConfig
from workbench.train.loop import train
from workbench.train.predict import predict
from workbench.train.runs import load_run
from workbench.train.backbones import build_model
from workbench.train.config import Augment
from workbench.train.data import load_images
from workbench.train.embedding import embed
from workbench.train.loop import HISTORY_COLUMNS

pytestmark = pytest.mark.slow
METRIC_COLUMNS = ["loss", "accuracy", "f1", "roc_auc", "eer"]


def test_feature_extraction_with_offline_lite0_beats_chance_and_reloads(ws, faces_labelled, home):
    store = faces_labelled
    # an exact copy of a non-face, added to the set and labelled like it: LFW's subset has no duplicates of its own
    first = store.images("faces").iloc[-1]
    (home / "more").mkdir()
    shutil.copyfile(first["path"], home / "more" / "copy.png")
    import_path(store, home / "more", name="faces")
    copy = int(store.images("faces").set_index("name").at["copy.png", "image_id"])
    store.add_label(copy, "not face", "truth")
    cfg = RunConfig("faces", method="feature_extract", backbone="efficientnet_lite0", weights="offline",
                    input_size=64, epochs=3, name="fe-faces")
    said = []
    res = train(ws, cfg, lambda frac, msg: said.append(msg))
    assert res.status == "completed"
    run = res.run_dir
    for f in ("config.json", "dataset.json", "history.csv", "best.pt", "last.pt", "summary.json"):
        assert (run / f).is_file(), f
    # the image and its copy: the run records them as one group, on one side
    info = json.loads((run / "dataset.json").read_text())
    assert info["duplicate_groups"] == {"groups": 1, "images": 2, "kept_together": 1}
    assert "split: 1 of 1 duplicate group(s) (2 images) kept on one side" in said  # and the run says so
    hist = pd.read_csv(run / "history.csv")
    assert list(hist.columns) == HISTORY_COLUMNS == ["epoch", "split", "loss", "accuracy", "precision", "recall", "f1",
                                                     "roc_auc", "eer", "lr", "seconds"]
    assert len(hist) == 6 and set(hist.split) == {"train", "val"} and sorted(hist.epoch.unique()) == [1, 2, 3]
    assert hist[METRIC_COLUMNS].notna().all().all()
    val = hist[hist.split == "val"]
    # chance is 0.5 on this balanced set; ImageNet features separate faces from non-faces well
    assert val.accuracy.max() >= 0.85
    assert val.roc_auc.max() >= 0.9
    assert list_runs(ws) == ["fe-faces"]
    # cosine schedule: the learning rate falls epoch by epoch
    lrs = hist[hist.split == "train"].lr.to_numpy()
    assert lrs[0] == pytest.approx(10 * cfg.lr) and np.all(np.diff(lrs) < 0)  # the head alone learns at 10x lr

    loaded = load_run(ws.run("fe-faces"))
    assert loaded.classes == ["face", "not face"]
    assert not loaded.model.training
    labels = loaded.task_labels(store)
    v = labels[labels.split == "val"]
    m = classification_metrics(v.y.to_numpy(), predict(loaded, v.path.tolist()))
    best = val.loc[val.loss.idxmin()]
    assert res.best_epoch == int(best.epoch)
    for k in METRIC_COLUMNS:
        assert m[k] == pytest.approx(best[k], abs=1e-5), k
    assert loaded.changed_images(store) == []


def test_same_seed_gives_same_numbers(ws, faces_labelled):
    kw = dict(method="feature_extract", input_size=32, epochs=2)
    a = train(ws, RunConfig("faces", name="a", seed=3, **kw))
    b = train(ws, RunConfig("faces", name="b", seed=3, **kw))
    c = train(ws, RunConfig("faces", name="c", seed=4, **kw))
    cols = METRIC_COLUMNS + ["precision", "recall"]
    pd.testing.assert_frame_equal(a.history[cols], b.history[cols])
    assert not a.history[cols].equals(c.history[cols])


def test_finetune_learns_digits_from_scratch(ws, digits):
    cfg = RunConfig("digits", method="finetune", backbone="mobilenetv3_small_050", weights="none", input_size=32, epochs=2,
                    batch_size=64, lr=2e-3, schedule="plateau", augment=Augment(flip=False, rotation=5, crop_scale=0.9),
                    name="ft-digits")
    res = train(ws, cfg)
    assert res.status == "completed"
    hist = ws.run("ft-digits").history
    assert hist[METRIC_COLUMNS].notna().all().all()
    val = hist[hist.split == "val"]
    # ten classes: chance is 0.1
    assert val.accuracy.iloc[-1] > 0.5
    tr = hist[hist.split == "train"]
    assert tr.loss.iloc[-1] < tr.loss.iloc[0]
    # the fine-tuned best checkpoint (batch-norm statistics included) reproduces its val metrics
    loaded = load_run(ws.run("ft-digits"))
    labels = loaded.task_labels(digits)
    v = labels[labels.split == "val"]
    m = classification_metrics(v.y.to_numpy(), predict(loaded, v.path.tolist(), batch_size=100))
    best = val.loc[val.loss.idxmin()]
    for k in METRIC_COLUMNS:
        assert m[k] == pytest.approx(best[k], abs=1e-4), k


def test_augmentations_flip_rotate_crop_and_stay_off_when_asked():
    import torch

    from workbench.train.data import augment_batch

    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(augment_batch(x, Augment(flip=False, rotation=0, crop_scale=1.0), gen), x)
    outs = [augment_batch(x, Augment(flip=True, rotation=0, crop_scale=1.0), gen) for _ in range(8)]
    for out in outs:  # every image is itself or its mirror image
        for i in range(2):
            assert torch.allclose(out[i], x[i], atol=1e-3) or torch.allclose(out[i], x[i].flip(-1), atol=1e-3)
    assert any(torch.allclose(o[0], x[0].flip(-1), atol=1e-3) for o in outs)
    warped = augment_batch(x, Augment(flip=False, rotation=30, crop_scale=0.5), gen)
    assert warped.shape == x.shape and not torch.allclose(warped, x, atol=1e-1)


def test_grouping_derives_a_binary_task_from_the_ten_digit_classes(ws, store, digits_sample):
    grouping = {str(d): ("small" if d < 5 else "large") for d in range(10)}
    res = train(ws, RunConfig(digits_sample, grouping=grouping, method="feature_extract", input_size=32, epochs=2, lr=0.01,
                          name="grouped"))
    assert res.status == "completed"
    loaded = load_run(ws.run("grouped"))
    assert loaded.classes == ["small", "large"]
    labels = loaded.task_labels(store)
    assert set(labels.label) == {"small", "large"}
    raw = labelled(store, digits_sample).set_index("image_id").label
    assert (labels.set_index("image_id").label == raw.map(grouping)).all()
    assert np.asarray(predict(loaded, labels.path.tolist()[:5])).shape == (5, 2)
    val = res.history[res.history.split == "val"]
    assert val.eer.notna().all() and val.accuracy.iloc[-1] > 0.6  # binary chance is about 0.5


def test_feature_extraction_learns_when_the_features_are_tiny(ws, store, digits_sample):
    # 8×8 digits at 32 px give Lite0's standard stem a 1×1 last stage: pooled features of ~1e-3. A head trained on
    # them as they are stayed at chance (0.16 after 8 epochs); on centred, rescaled ones it learns. (The standard
    # stem named: at 32 px "auto" picks the small stem, whose features are not tiny.)
    model = build_model("efficientnet_lite0", 10, "offline").to(memory_format=torch.channels_last)
    imgs = store.images(digits_sample).path.tolist()[:64]
    assert embed(model, load_images(imgs, 32), torch.device("cpu")).abs().mean() < 0.01
    res = train(ws, RunConfig(digits_sample, method="feature_extract", input_size=32, stem="standard", epochs=8,
                              lr=0.01, batch_size=128, name="tiny"))
    val = res.history[res.history.split == "val"]
    assert val.accuracy.max() > 0.3  # chance is 0.1
    loaded = load_run(ws.run("tiny"))  # the scaling is folded into the saved head
    labels = loaded.task_labels(store)
    v = labels[labels.split == "val"]
    m = classification_metrics(v.y.to_numpy(), predict(loaded, v.path.tolist()))
    assert m["loss"] == pytest.approx(val.loss.min(), abs=1e-5)


def test_feature_extraction_reports_its_embedding_batch_by_batch(ws, digits_sample):
    """The Experiments tab's bar sat on "computing embeddings 0%" for the whole embedding (~40 s for MNIST-5000):
    the count of images embedded now moves batch by batch up to the total."""
    said, fracs = [], []
    train(ws, RunConfig(digits_sample, method="feature_extract", input_size=32, epochs=2, name="emb-progress"),
          progress=lambda frac, what: said.append(what) or fracs.append(frac))
    counts = [tuple(map(int, m.split(": ")[1].split(" images")[0].split(" / ")))
              for m in said if m.startswith("computing embeddings: ")]
    total = counts[-1][1]
    assert total > 256 and counts[-1][0] == total   # train and val, more than one batch of 256
    assert any(0 < done < total for done, _ in counts)   # a step between nothing and all
    # the bar itself moves with the count (it sat at 0% while only the message moved), then on through the
    # epochs, never back
    moving = [f for f, m in zip(fracs, said) if m.startswith("computing embeddings: ")]
    assert 0 < moving[-2] < moving[-1] and fracs == sorted(fracs) and fracs[-1] == 1.0
