"""The task a run trains, picked from its set: classification (a label per image) or detection (boxes).

`precheck` and `train` here are what the CLI and the background jobs call: each settles the task once (saved in
config.json as "classification" or "detection") and hands the run to its loop (train/loop.py or detect/train.py).
"""

from __future__ import annotations

from workbench.detect import train as detection
from workbench.detect.data import DetectionTask
from workbench.detect.model import LoadedDetector, load_detector
from workbench.store import Store
from workbench.train import loop
from workbench.train.config import RunConfig
from workbench.train.loop import Progress, RunResult, TaskData
from workbench.run import Run
from workbench.train.runs import LoadedRun, load_run
from workbench.workspace import Workspace


def pick_task(store: Store, cfg: RunConfig) -> str:
    """cfg.task when given; for "auto", detection when the set has boxed images and no image labels, else
    classification."""
    if cfg.task != "auto":
        return cfg.task
    if cfg.dataset not in store.datasets():
        return "classification"  # the classification precheck names the missing set
    boxed = not store.boxed_images(cfg.dataset).empty
    return "detection" if boxed and store.resolved_labels(cfg.dataset).empty else "classification"


def precheck(ws: Workspace, cfg: RunConfig) -> TaskData | DetectionTask:
    """Settle the run's task (cfg.task), then every cheap check of that task's run."""
    cfg.validate()
    cfg.task = pick_task(ws.store, cfg)
    return detection.precheck(ws, cfg) if cfg.task == "detection" else loop.precheck(ws, cfg)


def train(ws: Workspace, cfg: RunConfig, progress: Progress | None = None, cancel=None,
          task: TaskData | DetectionTask | None = None, plots: bool = True) -> RunResult:
    """Train one run of its task (checked here unless `task` holds what precheck returned)."""
    task = task if task is not None else precheck(ws, cfg)
    if isinstance(task, DetectionTask):
        return detection.train_detector(ws, cfg, progress, cancel, task=task, plots=plots)
    return loop.train(ws, cfg, progress, cancel, task=task, plots=plots)


def load_trained(run: Run, which: str = "best", device: str = "auto") -> LoadedRun | LoadedDetector:
    """A trained run's model ready to predict: a LoadedRun (classification) or a LoadedDetector (detection)."""
    return load_detector(run.folder, which, device) if run.is_detector else load_run(run, which, device)
