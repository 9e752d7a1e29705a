"""A training run as one object: opened once from a workspace and a name, then passed in.

`Run` knows its folder, config, history, checkpoints, status, saved evaluations and decision threshold, each read
from disk when first asked for and then kept. It imports no torch, so the app and the CLI hold runs without loading
a model (`workbench.train.runs.load_run` loads one).

Running or interrupted: the training process holds a lock on checkpoints/<run>/training.lock from before its config
is written until its summary is (`TrainingLock`). The operating system drops the lock when the process ends, however
it ends (SIGKILL, a crash, the machine going down), so any process can tell: a run without summary.json whose lock
is held is running; one whose lock is free was interrupted.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from workbench.atomic import write_json
from workbench.errors import WorkbenchError
from workbench.evaluate.records import Evaluation, Threshold
from workbench.metrics import HISTORY_COLUMNS
from workbench.tables import read_csv, write_csv
from workbench.train.config import RunConfig

try:
    import fcntl
except ImportError:  # Windows: no flock; a lock file left behind then reads as running
    fcntl = None

if TYPE_CHECKING:  # annotations only: the workspace opens runs (Workspace.run), so it imports this module
    from workbench.workspace import Workspace

LATEST = ("last", "latest")  # what a user may type for the newest run: `workbench evaluate last`
CHECKPOINTS = ("best", "last")
STATUSES = ("completed", "cancelled", "failed", "interrupted", "running")
TRAINING_LOCK = "training.lock"
HOW_IT_ENDED = {"running": "is still training", "cancelled": "was cancelled", "failed": "failed",
                "interrupted": "was interrupted (its training process ended without writing a summary)"}


@dataclass(frozen=True, eq=False)
class Run:
    """The run `name` of the workspace `ws` (its folder: checkpoints/<name>/). Made by `Run.open` (or `ws.run`),
    where the name is checked once. What it reads is read on first use and kept, so a handle shows a running run
    as it was then: open a new one to see it move on."""

    ws: Workspace
    name: str
    _saved: dict = field(default_factory=dict, init=False, repr=False)  # evaluations, predictions, threshold read

    @classmethod
    def open(cls, ws: Workspace, name: str) -> Run:
        """The run `name`, or for "last"/"latest" (unless a run has that name) the newest run; a WorkbenchError
        naming recent runs when there is no such run."""
        if name in LATEST and not _is_run(ws.run_folder(name)):
            names = list_runs(ws)
            if not names:
                raise WorkbenchError("No runs yet: train one first (workbench train DATASET).")
            name = names[-1]
        if not name or "/" in name or "\\" in name or name.startswith(".") or not _is_run(ws.run_folder(name)):
            known = ", ".join(list_runs(ws)[-10:]) or "none yet"
            raise WorkbenchError(f"No run named {name!r} (recent runs: {known}).")
        return cls(ws, name)

    # -- where it is ----------------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """checkpoints/<run>/: config, dataset, history, checkpoints, summary, evaluations, threshold."""
        return self.ws.run_folder(self.name)

    @property
    def plots(self) -> Path:
        """plots_checkpoints/<run>/: its curves, evaluation plots and cached CAM thumbnails."""
        return self.ws.plot_folder(self.name)

    # -- what it was trained as and on -----------------------------------------------------------------------
    @cached_property
    def config(self) -> RunConfig:
        """The run's config.json."""
        return RunConfig.load(self.folder / "config.json")

    @cached_property
    def dataset_info(self) -> dict:
        """dataset.json: the task's classes, channels and every image it was trained on (empty if missing)."""
        f = self.folder / "dataset.json"
        return json.loads(f.read_text()) if f.is_file() else {}

    @property
    def is_detector(self) -> bool:
        """Whether the run trained a detector (boxes) rather than a classifier (its config's task)."""
        return self.config.task == "detection"

    @property
    def classes(self) -> list[str]:
        """The task's classes in the model's output order."""
        return list(self.dataset_info.get("classes") or [])

    # -- how training went -------------------------------------------------------------------------------------
    @cached_property
    def history(self) -> pd.DataFrame:
        """Per-epoch metrics (epoch, split, loss, accuracy, ...); empty before the first epoch ends."""
        f = self.folder / "history.csv"
        return read_csv(f) if f.is_file() else pd.DataFrame(columns=HISTORY_COLUMNS)

    @cached_property
    def summary(self) -> dict:
        """summary.json: how the run ended (status, message, best epoch, seconds); {} while it has not."""
        f = self.folder / "summary.json"
        return json.loads(f.read_text()) if f.is_file() else {}

    @cached_property
    def status(self) -> str:
        """completed, cancelled or failed (its summary says); without a summary, running while its training process
        holds the run's lock, else interrupted."""
        if "status" in self.summary:
            return self.summary["status"]
        if is_training(self.folder):
            return "running"
        self.__dict__.pop("summary", None)  # it may have ended between reading no summary and finding the lock free
        return self.summary.get("status", "interrupted")

    @property
    def epochs_done(self) -> int:
        """Epochs with validation metrics in the history."""
        val = self.history[self.history["split"] == "val"]
        return int(val["epoch"].max()) if len(val) else 0

    @cached_property
    def best(self) -> tuple[int | None, float | None]:
        """(best epoch, its val loss): the summary's, else the history's as training picks best.pt (lowest val loss;
        a detector's highest val mAP@0.5) for a run that is running or was interrupted."""
        if "status" in self.summary:
            return self.summary.get("best_epoch"), self.summary.get("best_val_loss")
        val = self.history[self.history["split"] == "val"].dropna(subset=["loss"])
        if val.empty:
            return None, None
        if "map_50" in val:  # a detector keeps the epoch of the highest val mAP@0.5 (the first of equal ones)
            row = val.loc[val["map_50"].idxmax()]
        else:  # the first of equal losses: training keeps a best only if lower
            row = val.loc[val["loss"].idxmin()]
        return int(row["epoch"]), float(row["loss"])

    @property
    def best_epoch(self) -> int | None:
        """The epoch best.pt holds (lowest val loss; a detector's best val mAP@0.5); None before an epoch ended."""
        return self.best[0]

    @property
    def best_val_loss(self) -> float | None:
        """The best epoch's val loss."""
        return self.best[1]

    def unfinished(self) -> str | None:
        """For reports on a run that did not complete: how it ended, its epochs and best epoch (None if completed)."""
        if self.status == "completed":
            return None
        best = f"best epoch {self.best_epoch}" if self.best_epoch else "no epoch finished"
        return (f"Run {self.name!r} {HOW_IT_ENDED.get(self.status, self.status)} after {self.epochs_done} of "
                f"{self.config.epochs} epochs; {best}.")

    # -- checkpoints ---------------------------------------------------------------------------------------
    def checkpoint(self, which: str = "best") -> Path:
        """best.pt or last.pt (whether or not it exists)."""
        if which not in CHECKPOINTS:
            raise WorkbenchError(f"which must be 'best' or 'last', got {which!r}.")
        return self.folder / f"{which}.pt"

    def checkpoint_stamp(self, which: str = "best") -> int:
        """The checkpoint's modification time in ns (0 when there is none): it changes when the run trains again."""
        try:
            return self.checkpoint(which).stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def newer_checkpoint_than(self, path: Path, which: str = "best") -> bool:
        """Whether checkpoint `which` was written after the file `path` (made from an older checkpoint: stale)."""
        return self.checkpoint_stamp(which) > Path(path).stat().st_mtime_ns

    # -- saved evaluations and threshold --------------------------------------------------------------------
    def evaluation_path(self, split: str = "test") -> Path:
        """checkpoints/<run>/evaluation_<split>.json."""
        return self.folder / f"evaluation_{split}.json"

    def detection_evaluation_path(self, split: str = "test") -> Path:
        """checkpoints/<run>/detection_<split>.json (a detection run's evaluation)."""
        return self.folder / f"detection_{split}.json"

    def predictions_path(self, split: str = "test") -> Path:
        """checkpoints/<run>/predictions_<split>.csv: one row per image (image_id, path, y_true, y_pred, p_k...)."""
        return self.folder / f"predictions_{split}.csv"

    def evaluation(self, split: str = "test") -> Evaluation | None:
        """The saved evaluation on `split`, or None if the run was never evaluated there."""
        key = ("evaluation", split)
        if key not in self._saved:
            path = self.evaluation_path(split)
            self._saved[key] = Evaluation(**json.loads(path.read_text())) if path.exists() else None
        return self._saved[key]

    def predictions(self, split: str = "test") -> pd.DataFrame | None:
        """The saved predictions table on `split`, or None if the run was never evaluated there."""
        key = ("predictions", split)
        if key not in self._saved:
            path = self.predictions_path(split)
            self._saved[key] = read_csv(path) if path.exists() else None
        return self._saved[key]

    def save_evaluation(self, ev: Evaluation) -> Path:
        """Write evaluation_<split>.json (atomically: a reader never sees half of it)."""
        self._saved["evaluation", ev.split] = ev
        return write_json(self.evaluation_path(ev.split), ev.to_dict())

    def save_predictions(self, preds: pd.DataFrame, split: str = "test") -> Path:
        """Write predictions_<split>.csv (atomically)."""
        self._saved["predictions", split] = preds
        return write_csv(self.predictions_path(split), preds)

    @property
    def threshold_path(self) -> Path:
        """checkpoints/<run>/threshold.json."""
        return self.folder / "threshold.json"

    def saved_threshold(self) -> Threshold | None:
        """The stored decision threshold, whichever checkpoint it was chosen for; None if none (or unreadable)."""
        if "threshold" not in self._saved:
            try:
                self._saved["threshold"] = Threshold(**json.loads(self.threshold_path.read_text()))
            except FileNotFoundError:
                self._saved["threshold"] = None
            except (ValueError, TypeError):  # unreadable: chosen again rather than fail
                self._saved["threshold"] = None
        return self._saved["threshold"]

    @property
    def threshold(self) -> Threshold | None:
        """The stored threshold, or None if none was chosen or its checkpoint is newer than it (retrained)."""
        t = self.saved_threshold()
        if t is None or self.newer_checkpoint_than(self.threshold_path, t.checkpoint):
            return None
        return t

    def save_threshold(self, t: Threshold) -> Path:
        """Write threshold.json atomically: a reader sees the old file or the new one, never half of one."""
        self._saved["threshold"] = t
        return write_json(self.threshold_path, asdict(t))


def list_runs(ws: Workspace) -> list[str]:
    """Run names under checkpoints/, oldest first."""
    dirs = [d for d in ws.checkpoints.iterdir() if d.is_dir() and _is_run(d)]
    return [d.name for d in sorted(dirs, key=lambda d: ((d / "config.json").stat().st_mtime, d.name))]


def detection_runs(ws: Workspace) -> list[str]:
    """The names of the workspace's detection runs, oldest first."""
    return [name for name in list_runs(ws) if Run.open(ws, name).is_detector]


RUNS_TABLE_COLUMNS = ["run", "dataset", "method", "backbone", "seed", "status", "epochs", "best epoch",
                      "best val loss", "val accuracy", "val mAP@0.5"]


def runs_table(ws: Workspace) -> pd.DataFrame:
    """One row per run, newest first: what a run list in the app or CLI shows."""
    rows = []
    for name in reversed(list_runs(ws)):
        run = Run(ws, name)  # listed: its folder and config are there
        try:
            cfg = run.config
        except Exception:  # a half-written config: show the run rather than hide it
            rows.append({"run": name, "status": "unreadable config"})
            continue
        val = run.history[run.history["split"] == "val"]
        method = f"{cfg.detect.detector} · {cfg.method}" if cfg.task == "detection" else cfg.method
        rows.append({"run": name, "dataset": cfg.dataset, "method": method, "backbone": cfg.backbone,
                     "seed": cfg.seed, "status": run.status, "epochs": run.epochs_done, "best epoch": run.best_epoch,
                     "best val loss": None if run.best_val_loss is None else round(run.best_val_loss, 4),
                     "val accuracy": _last(val, "accuracy"), "val mAP@0.5": _last(val, "map_50")})
    return pd.DataFrame(rows, columns=RUNS_TABLE_COLUMNS)


def _last(val: pd.DataFrame, metric: str) -> float | None:
    """The last epoch's val `metric` (None when the run records no such metric: a classifier has no mAP)."""
    return round(float(val[metric].iloc[-1]), 4) if len(val) and metric in val else None


class TrainingLock:
    """Held by the process that trains a run, in checkpoints/<run>/training.lock (which also names the process:
    pid, host, start), from before the run's config is written until its summary is."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / TRAINING_LOCK
        self._file = open(self.path, "w")
        if fcntl is not None:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new run folder: nobody else holds it
        json.dump({"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")},
                  self._file)
        self._file.flush()

    def release(self) -> None:
        """The run has its summary: remove the lock file and let go (again: nothing)."""
        if not self._file.closed:
            self.path.unlink(missing_ok=True)
            self._file.close()


def is_training(folder: Path) -> bool:
    """Whether a process holds the training lock of the run in `folder` (on any machine sharing the folder,
    where the file system passes locks on)."""
    try:
        f = open(Path(folder) / TRAINING_LOCK, "rb")
    except FileNotFoundError:
        return False
    with f:
        if fcntl is None:
            return True
        try:  # shared: probes never block each other, only the trainer's exclusive lock blocks them
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def _is_run(folder: Path) -> bool:
    return (folder / "config.json").is_file()
