"""Runs other tools can read: TensorBoard event files beside the history (read back with TensorBoard's own
EventAccumulator), MLflow runs in a sqlite store (read back with MLflow's client); a tracker that fails warns and
the run completes."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from workbench.cli import main as cli
from workbench.metrics import METRICS
from workbench.train.config import RunConfig
from workbench.train.loop import train
from workbench.train.trackers import Trackers, hparam_values

pytestmark = pytest.mark.slow
TINY = dict(method="feature_extract", input_size=32, epochs=2, batch_size=32)


def events(folder) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def hparams_of(acc: EventAccumulator) -> dict:
    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = HParamsPluginData.FromString(content).session_start_info.hparams
    return {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in start.items()}


def test_a_run_is_read_back_by_tensorboard_and_mlflow(ws, faces_labelled, tmp_path):
    ws.mlflow = f"sqlite:///{tmp_path / 'tracking' / 'mlflow.db'}"
    (tmp_path / "tracking").mkdir()
    result = train(ws, RunConfig("faces", name="tracked", lr=2e-3, **TINY))
    assert result.status == "completed", result.message
    run = ws.run("tracked")
    history = run.history
    val = history[history.split == "val"].set_index("epoch")

    # TensorBoard: one event file in the run's own folder (`tensorboard --logdir checkpoints/` lists the run)
    assert len(list(run.folder.glob("events.out.tfevents.*"))) == 1
    acc = events(run.folder)
    for split in ("train", "val"):
        for m in METRICS:
            assert f"{split}/{m}" in acc.Tags()["scalars"]
    read = acc.Scalars("val/accuracy")
    assert [e.step for e in read] == [1, 2]
    assert [e.value for e in read] == pytest.approx(val.accuracy.tolist(), abs=1e-6)
    assert [e.value for e in acc.Scalars("val/loss")] == pytest.approx(val.loss.tolist(), abs=1e-6)
    lrs = history[history.split == "train"].lr.tolist()
    assert [e.value for e in acc.Scalars("lr")] == pytest.approx(lrs, rel=1e-6)
    hp = hparams_of(acc)
    assert hp["method"] == "feature_extract" and hp["dataset"] == "faces" and hp["input_size"] == 32
    assert hp["lr"] == pytest.approx(2e-3) and hp["augment.flip"] == 1  # torch writes booleans as numbers

    # MLflow: the run in experiment "faces", its settings, per-epoch metrics and files
    client = MlflowClient(tracking_uri=ws.mlflow)
    experiment = client.get_experiment_by_name("faces")
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.run_name == "tracked" and logged.info.status == "FINISHED"
    assert logged.data.params["method"] == "feature_extract" and logged.data.params["epochs"] == "2"
    curve = client.get_metric_history(logged.info.run_id, "val/accuracy")
    assert [(m.step, m.value) for m in curve] == pytest.approx(list(zip(val.index, val.accuracy)), abs=1e-6)
    assert logged.data.metrics["val/f1"] == pytest.approx(val.f1.iloc[-1], abs=1e-6)
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"config.json", "dataset.json", "history.csv", "best.pt", "curves.png", "summary.json"} <= artifacts
    # artifacts beside the store's file, not in ./mlruns of whatever the working directory was
    assert (tmp_path / "tracking" / "mlflow-artifacts" / "faces").is_dir()
    assert not (tmp_path / "mlruns").exists()


def test_a_failing_tracker_warns_and_the_run_completes(home, faces_labelled, capsys):
    # a store MLflow cannot make (a file stands where its folder would be): the run trains, says so, and
    # TensorBoard still works
    (home / "notes").write_text("a file, not a folder")
    code = cli(["train", "faces", "--method", "feature_extract", "--input-size", "32", "--epochs", "2",
                "--name", "untracked", "--mlflow", f"sqlite:///{home / 'notes' / 'mlflow.db'}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "untracked: completed" in out and "MLflow tracking failed" in out
    summary = json.loads((home / "checkpoints" / "untracked" / "summary.json").read_text())
    assert summary["status"] == "completed" and "MLflow tracking failed" in summary["message"]
    assert len(events(home / "checkpoints" / "untracked").Scalars("val/accuracy")) == 2


class Broken:
    name = "Broken"

    def __init__(self):
        self.calls = 0

    def start(self, cfg, folder):
        self.calls += 1

    def epoch(self, epoch, rows):
        self.calls += 1
        raise OSError("disk full")

    def finish(self, status, files, summary):
        self.calls += 1


class Counting(Broken):
    name = "Counting"

    def epoch(self, epoch, rows):
        self.calls += 1


def test_a_tracker_that_raises_is_dropped_and_the_others_go_on(tmp_path):
    broken, counting = Broken(), Counting()
    trackers = Trackers([broken, counting])
    trackers.start(RunConfig("faces"), tmp_path)
    for epoch in (1, 2):
        trackers.epoch(epoch, [{"split": "val", "lr": 0.1}])
    trackers.finish("completed", [], {})
    assert broken.calls == 2 and counting.calls == 4  # the broken one was not called again after it raised
    assert trackers.warnings == ["Broken tracking failed (OSError: disk full); the run went on without it."]


def test_every_setting_reaches_tensorboard_as_a_scalar():
    """Nested settings (augment, detect) and unset ones are hparams TensorBoard takes: a dict or None made the
    hparams call raise and the run lost its TensorBoard record."""
    from torch.utils.tensorboard.summary import hparams

    values = hparam_values(RunConfig(dataset="x", grouping=None))
    assert values["detect.detector"] and "augment.flip" in values and "detect" not in values
    hparams(values, {"val/accuracy": 0.0})  # raises on a value of a type it does not take
