"""Background checkpoint writing: the newest state ends on disk, snapshots are independent, errors surface."""

import errno
import os

import pytest
import torch
from torch import nn

from workbench.train.config import RunConfig
from workbench.train.loop import train
from workbench.train.runs import load_run
from workbench.train import checkpoints as C


def _load(path):
    return torch.load(path, weights_only=True)


def test_newest_state_of_each_file_is_on_disk_after_close(tmp_path):
    with C.CheckpointWriter(tmp_path) as w:
        for epoch in range(1, 31):
            state = C.snapshot({"w": torch.full((256, 256), float(epoch))})
            w.save(state, "last.pt", *(["best.pt"] if epoch <= 12 else []))
    assert _load(tmp_path / "last.pt")["w"][0, 0] == 30
    assert _load(tmp_path / "best.pt")["w"][0, 0] == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]  # no temp files left


def test_best_and_last_of_one_epoch_are_written_once_and_stay_separate(tmp_path):
    with C.CheckpointWriter(tmp_path) as w:
        w.save(C.snapshot({"w": torch.ones(3)}), "last.pt", "best.pt")
    assert os.path.samefile(tmp_path / "last.pt", tmp_path / "best.pt")
    with C.CheckpointWriter(tmp_path) as w:  # a later last.pt replaces the file, best.pt keeps its content
        w.save(C.snapshot({"w": torch.zeros(3)}), "last.pt")
    assert torch.equal(_load(tmp_path / "best.pt")["w"], torch.ones(3))
    assert torch.equal(_load(tmp_path / "last.pt")["w"], torch.zeros(3))


def test_snapshot_does_not_follow_later_training_steps(tmp_path):
    model = nn.Linear(4, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    frozen = C.snapshot({"bias": model.bias})
    with C.CheckpointWriter(tmp_path) as w:
        w.save(C.snapshot(model.state_dict(), reuse=frozen), "last.pt")
        with torch.no_grad():
            model.weight.add_(100.0)
            model.bias.add_(100.0)
    saved = _load(tmp_path / "last.pt")
    assert torch.equal(saved["weight"], before["weight"]) and torch.equal(saved["bias"], before["bias"])


def test_a_failed_write_fails_the_run_with_the_reason_and_keeps_the_earlier_file(ws, faces_labelled, monkeypatch):
    real = C.atomic_save
    calls = {"n": 0}

    def disk_fills_up(obj, path):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(obj, path)

    monkeypatch.setattr(C, "atomic_save", disk_fills_up)
    res = train(ws, RunConfig("faces", method="feature_extract", input_size=32, epochs=3, batch_size=1000,
                          name="full-disk"))
    assert res.status == "failed"
    assert "Writing a checkpoint" in res.message and "No space left on device" in res.message
    assert load_run(ws.run("full-disk"), "last").model is not None  # epoch 1's complete checkpoint is still there


def test_save_after_a_failed_write_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "atomic_save", lambda obj, path: (_ for _ in ()).throw(PermissionError("read-only")))
    w = C.CheckpointWriter(tmp_path)
    w.save(C.snapshot({"w": torch.ones(1)}), "last.pt")
    with pytest.raises(C.CheckpointError, match="read-only"):
        w.close()
