"""A run is one handle: opened once by name (or `last`), refused once when unknown; and a run killed mid-training
reads as `interrupted`, with its best epoch from its history, wherever runs are listed and in evaluation output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.run import Run, TrainingLock, is_training, runs_table
from workbench.train.config import RunConfig

KILLED = "killed-fe"


def _fake_run(ws, name: str, history: pd.DataFrame | None = None) -> Run:
    """A run folder as training leaves it before its summary: config, history."""
    folder = ws.run_folder(name)
    folder.mkdir(parents=True)
    RunConfig(dataset="faces", name=name, epochs=10).save(folder / "config.json")
    if history is not None:
        history.to_csv(folder / "history.csv", index=False)
    return ws.run(name)


def _history(val_losses: list[float]) -> pd.DataFrame:
    rows = []
    for epoch, loss in enumerate(val_losses, 1):
        rows += [{"epoch": epoch, "split": "train", "loss": 1.0, "accuracy": 0.5},
                 {"epoch": epoch, "split": "val", "loss": loss, "accuracy": 0.5 + epoch / 100}]
    return pd.DataFrame(rows)


def test_a_run_is_opened_once_by_name_or_last_and_an_unknown_one_refused(home, ws):
    with pytest.raises(WorkbenchError, match="No runs yet: train one first"):
        ws.run("last")
    _fake_run(ws, "older")
    time.sleep(0.02)
    newer = _fake_run(ws, "newer")
    assert ws.run("last").name == ws.run("latest").name == "newer"
    assert newer.folder == ws.checkpoints / "newer" and newer.config.epochs == 10
    for bad in ("nope", "", "../newer", ".hidden"):
        with pytest.raises(WorkbenchError, match=r"No run named .* \(recent runs: older, newer\)"):
            ws.run(bad)


def test_without_a_summary_a_run_is_running_while_its_lock_is_held_then_interrupted(home, ws):
    run = _fake_run(ws, "r", _history([0.9, 0.4, 0.6]))
    lock = TrainingLock(run.folder)
    try:
        assert is_training(run.folder) and ws.run("r").status == "running"
    finally:
        lock.release()
    assert not (run.folder / "training.lock").exists()
    again = ws.run("r")
    assert again.status == "interrupted"
    assert (again.best_epoch, again.best_val_loss, again.epochs_done) == (2, 0.4, 3)
    assert again.unfinished() == ("Run 'r' was interrupted (its training process ended without writing a summary) "
                                  "after 3 of 10 epochs; best epoch 2.")
    row = runs_table(ws).set_index("run").loc["r"]
    assert (row["status"], row["best epoch"], row["best val loss"], row["epochs"]) == ("interrupted", 2, 0.4, 3)


def _wait_for(condition, what: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"training exited before {what}:\n{proc.stdout.read()[-3000:]}")
        if time.time() > deadline:
            proc.kill()
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(0.2)


def _val_epochs(ws) -> int:
    try:
        h = pd.read_csv(ws.run_folder(KILLED) / "history.csv")
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return 0
    return int((h["split"] == "val").sum())


def test_a_training_process_killed_with_sigkill_is_interrupted_everywhere(ws, faces_labelled, capsys):
    # many cheap epochs (feature extraction on cached embeddings): the run is still training when it is killed
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "train", "faces", "--method", "feature_extract",
                             "--input-size", "32", "--epochs", "100000", "--name", KILLED],
                            cwd=ws.home, env={**os.environ, "WORKBENCH_HOME": str(ws.home), "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: _val_epochs(ws) >= 3 and (ws.run_folder(KILLED) / "best.pt").is_file(), "3 epochs", proc)
        assert ws.run(KILLED).status == "running"  # another process's run, alive
        assert runs_table(ws).set_index("run").loc[KILLED, "status"] == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run = ws.run(KILLED)
    history = run.history[run.history["split"] == "val"]
    best = int(history.loc[history["loss"].idxmin(), "epoch"])
    assert run.status == "interrupted" and run.best_epoch == best and not (run.folder / "summary.json").exists()

    row = runs_table(ws).set_index("run").loc[KILLED]
    assert row["status"] == "interrupted" and row["best epoch"] == best

    assert main(["train", "--list"]) == 0
    listed = capsys.readouterr().out
    assert f"{KILLED}\tinterrupted\tbest epoch {best}\t" in listed

    assert main(["evaluate", KILLED]) == 0
    report = capsys.readouterr().out
    assert f"note: Run {KILLED!r} was interrupted" in report
    assert f"epochs; best epoch {best}. Evaluated: its best checkpoint." in report
    assert ws.run(KILLED).evaluation().notes[0].startswith(f"Run {KILLED!r} was interrupted")
