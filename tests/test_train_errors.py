"""Bad input to a training run: a clear message, nothing half-written, the best checkpoint kept."""

import threading

import pytest
import torch

from workbench.errors import WorkbenchError
from workbench.run import list_runs
from workbench.train.config import RunConfig
from workbench.train.loop import train
from workbench.train.runs import load_run
from workbench.train import methods
from workbench.train.config import parse_grouping

FAST = dict(method="feature_extract", input_size=32, epochs=2)


def _no_run_written(ws):
    return list(ws.checkpoints.iterdir()) == []


def test_fewer_than_two_classes(ws, faces_labelled):
    cfg = RunConfig("faces", grouping={"face": "any", "not face": "any"}, **FAST)
    with pytest.raises(WorkbenchError, match="at least 2 classes; this task has 1"):
        train(ws, cfg)
    assert _no_run_written(ws)


def test_class_without_training_images(ws, faces_labelled):
    faces_labelled.add_classes("faces", ["cat"])
    with pytest.raises(WorkbenchError, match="No training image for class cat"):
        train(ws, RunConfig("faces", **FAST))
    assert _no_run_written(ws)


def test_too_few_images_for_the_split(ws, faces):
    truth = __import__("workbench.data.demo", fromlist=["faces_truth"]).faces_truth(faces)
    one_each = truth.groupby(truth).head(1)
    faces.add_labels("faces", list(one_each.items()), "ann")
    with pytest.raises(WorkbenchError, match="Too few labelled images for a val split"):
        train(ws, RunConfig("faces", **FAST))
    assert _no_run_written(ws)


def test_unknown_backbone_and_bad_grouping(ws, faces_labelled):
    with pytest.raises(WorkbenchError, match="Unknown backbone 'efficientnet_lite9'"):
        train(ws, RunConfig("faces", backbone="efficientnet_lite9", **FAST))
    with pytest.raises(WorkbenchError, match="classes the dataset does not have: dog"):
        train(ws, RunConfig("faces", grouping={"dog": "x", "face": "x", "not face": "y"}, **FAST))
    with pytest.raises(WorkbenchError, match="without a group: not face"):
        train(ws, RunConfig("faces", grouping=parse_grouping("face=person"), **FAST))
    with pytest.raises(WorkbenchError, match="not 'class=group'"):
        parse_grouping("face person")
    with pytest.raises(WorkbenchError, match="Unknown method"):
        train(ws, RunConfig("faces", method="distill"))
    assert _no_run_written(ws)


def test_nan_loss_stops_the_run_and_keeps_the_best_checkpoint(ws, faces_labelled, monkeypatch):
    calls = {"n": 0}
    real = methods.loss_fn

    def goes_nan(logits, y):
        calls["n"] += 1
        loss = real(logits, y)
        return loss * float("nan") if calls["n"] > 1 else loss

    monkeypatch.setattr(methods, "loss_fn", goes_nan)
    cfg = RunConfig("faces", batch_size=1000, name="nan-run", **{**FAST, "epochs": 3})
    res = train(ws, cfg)
    assert res.status == "failed"
    assert "Loss became nan at epoch 2" in res.message and "best checkpoint from epoch 1 kept" in res.message
    assert res.best_epoch == 1 and len(res.history) == 2
    loaded = load_run(ws.run("nan-run"))
    assert all(torch.isfinite(p).all() for p in loaded.model.parameters())


def test_existing_run_name_is_refused(ws, faces_labelled):
    train(ws, RunConfig("faces", name="dup", **{**FAST, "epochs": 1}))
    with pytest.raises(WorkbenchError, match="run named 'dup' exists already"):
        train(ws, RunConfig("faces", name="dup", **FAST))
    assert list_runs(ws) == ["dup"]


def test_cancel_stops_after_the_current_epoch_with_checkpoints(ws, faces_labelled):
    cancel = threading.Event()

    def progress(frac, msg):
        if msg.startswith("epoch 1/"):
            cancel.set()

    res = train(ws, RunConfig("faces", name="c", **{**FAST, "epochs": 5}), progress=progress, cancel=cancel)
    assert res.status == "cancelled" and "after 1 complete epoch" in res.message
    assert (res.run_dir / "best.pt").is_file() and len(res.history) == 2
