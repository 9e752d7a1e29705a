"""The training run: one function, readable top to bottom.

`train` checks the run (`precheck`, once), loads the images, hands the epochs to a training method
(methods.py: fine-tuning or feature extraction) and writes every output of the run itself: config, dataset,
history and checkpoints as it goes, then the summary and the curves (RunFiles, rank 0 only under torchrun).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from workbench.atomic import write_json
from workbench.data.splits import groups_kept, kept_note
from workbench.errors import WorkbenchError
from workbench.metrics import HISTORY_COLUMNS, METRICS, classification_metrics
from workbench.plots.curves import save_curves
from workbench.run import TrainingLock
from workbench.store import Store
from workbench.tables import write_csv
from workbench.train import data as D
from workbench.train import distributed as dist
from workbench.train.backbones import build_model, check_backbone, pick_device, place
from workbench.train.checkpoints import CheckpointError, CheckpointWriter
from workbench.train.config import RunConfig
from workbench.train.methods import METHODS, Cancelled, NonFinite, TrainingMethod
from workbench.train.stems import resolve_stem
from workbench.train.trackers import Trackers
from workbench.workspace import Workspace

Progress = Callable[[float, str], None]
__all__ = ["Cancelled", "HISTORY_COLUMNS", "RunResult", "TaskData", "precheck", "train"]


@dataclass
class RunResult:
    """How a run ended. status: "completed", "cancelled" or "failed" (message says why).
    `curves`: the folder of its curves.html / curves.png (None when there were none to draw)."""

    run: str
    run_dir: Path
    status: str
    message: str
    best_epoch: int | None
    best_val_loss: float | None
    history: pd.DataFrame
    curves: Path | None = None


@dataclass
class TaskData:
    """What `precheck` found: the task's labelled images (image_id, path, sha256, label, y, split), its classes."""

    labels: pd.DataFrame
    classes: list[str]


def train(ws: Workspace, cfg: RunConfig, progress: Progress | None = None, cancel=None,
          task: TaskData | None = None, plots: bool = True) -> RunResult:
    """Train one run to checkpoints/<run>/ (config, dataset, history, best.pt, last.pt, summary) and its curves
    to plots_checkpoints/<run>/ (unless `plots` is False). `task`: what precheck returned when the caller
    checked already (a queued job, checked when it was submitted); otherwise the run is checked here.

    Bad configuration or data raises WorkbenchError before anything is written; a run that goes
    NaN, or is cancelled, stops with its best checkpoint kept and says so in the result.
    """
    ddp = dist.setup(cfg.device)
    cfg.name = dist.broadcast(cfg.name, ddp)  # a default name holds the time: rank 0's names the run
    task = task or precheck(ws, cfg)
    dist.barrier(ddp)  # every rank has checked the name before rank 0 creates the run folder
    progress = (progress or _quiet) if ddp.master else _quiet
    torch.manual_seed(cfg.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    np.random.seed(cfg.seed)
    cfg.stem = resolve_stem(cfg.backbone, cfg.stem, cfg.input_size)  # again: a task checked before may be passed in
    model = build_model(cfg.backbone, len(task.classes), cfg.weights, cfg.stem)
    device = dist.device_for(ddp, pick_device(cfg.device))
    place(model, device)
    progress(0.0, "loading images")
    splits = load_splits(task.labels, cfg.input_size)
    folder = ws.run_folder(cfg.name)
    files = RunFiles(folder, ws.plots, device, Trackers.for_run(ws.mlflow)) if ddp.master else NoFiles(folder)
    files.start(cfg, ws.store, task, channels=splits["train"].images.shape[1])
    progress(0.0, kept_note(groups_kept(task.labels)))  # what dataset.json records, said as the run starts
    try:
        setup, epochs = split_progress(progress, METHODS[cfg.method].setup_share)
        method = METHODS[cfg.method](model, cfg, splits, device, setup, ddp)
        result = Epochs(cfg, method, splits["val"].y.numpy(), files, epochs, cancel, ddp).run()
        files.finish(result, distributed_summary(ddp, method), plots)
    finally:
        files.close()  # let go of the run's training lock: without a summary the run is now "interrupted"
    return result


def precheck(ws: Workspace, cfg: RunConfig) -> TaskData:
    """Every cheap check before a run starts (config, name, backbone, dataset, labels): errors at once, not later."""
    cfg.validate()
    if ws.run_folder(cfg.name).exists():
        raise WorkbenchError(taken(cfg.name))
    check_backbone(cfg.backbone)
    cfg.stem = resolve_stem(cfg.backbone, cfg.stem, cfg.input_size)  # saved resolved: a reload builds the same model
    df, classes = D.task_labels(ws.store, cfg.dataset, cfg.grouping, cfg.split_seed)
    D.check_trainable(df, classes)
    return TaskData(df, classes)


def load_splits(labels: pd.DataFrame, size: int) -> dict[str, D.Split]:
    """Train and val images decoded once into memory; one colour image anywhere makes the whole run RGB."""
    splits = {}
    for s in ("train", "val"):
        part = labels[labels.split == s]
        splits[s] = D.Split(D.load_images(part.path.tolist(), size),
                            torch.tensor(part.y.to_numpy(dtype=np.int64)), part.image_id.to_numpy())
    channels = max(sp.images.shape[1] for sp in splits.values())
    for sp in splits.values():
        sp.images = sp.images.expand(-1, channels, -1, -1).contiguous() if sp.images.shape[1] < channels else sp.images
    return splits


def split_progress(progress: Progress, share: float) -> tuple[Progress, Progress]:
    """Two callbacks, each taking 0..1, that fill the bar's first `share` and the rest: a method's setup and
    its epochs, so the bar moves forward through both."""
    return (lambda f, m: progress(share * f, m)), (lambda f, m: progress(share + (1.0 - share) * f, m))


class Epochs:
    """The epoch loop of one run: metrics of both splits, history and checkpoints after every epoch, the best
    epoch by val loss; stops when cancelled, when the model goes NaN or when a checkpoint cannot be written."""

    def __init__(self, cfg: RunConfig, method: TrainingMethod, val_y: np.ndarray, files: "RunFiles",
                 progress: Progress, cancel, ddp: dist.Dist):
        self.cfg, self.method, self.val_y, self.files, self.progress, self.cancel = cfg, method, val_y, files, progress, cancel
        self.opt = make_optimizer(cfg, method.parameters(), cfg.lr * method.lr_scale())
        self.sched = make_scheduler(cfg, self.opt)
        self.gen = torch.Generator().manual_seed(cfg.seed + ddp.rank)  # augmentations differ per rank
        self.rows: list[dict] = []
        self.best: tuple[int | None, float] = (None, math.inf)
        self.checkpoints = files.checkpoint_writer()

    def run(self) -> RunResult:
        status, message = "completed", f"Completed {self.cfg.epochs} epochs."
        try:
            for epoch in range(1, self.cfg.epochs + 1):
                self.epoch(epoch)
        except Cancelled:
            status, message = "cancelled", f"Cancelled after {len(self.rows) // 2} complete epoch(s)."
        except NonFinite as e:
            kept = f"best checkpoint from epoch {self.best[0]} kept" if self.best[0] else "no checkpoint was saved"
            status, message = "failed", f"{e} Training stopped; {kept}. Try a lower learning rate."
        except CheckpointError as e:
            status, message = "failed", f"{e}. Training stopped; best.pt and last.pt are the last complete ones."
        except BaseException as e:  # out of memory, a bug, Ctrl-C: leave a summary that says so, then re-raise
            try:
                self.checkpoints.close()
            except Exception:
                pass  # the original error is the one to report
            self.files.summary(self.result("failed", f"{type(e).__name__}: {e}"))
            raise
        try:
            self.checkpoints.close()
        except CheckpointError as e:  # the last writes failed; an earlier failure has said so already
            if status != "failed":
                status, message = "failed", f"{e}. best.pt and last.pt are the last complete ones."
        return self.result(status, message)

    def epoch(self, epoch: int) -> None:
        """Train one epoch, score both splits, write history and checkpoints, step the schedule."""
        t0, lr = time.time(), self.opt.param_groups[0]["lr"]
        train_probs, train_y = self.method.train_epoch(self.opt, self.gen, epoch, self.cancel)
        val_probs = self.method.predict("val")
        if not (np.isfinite(val_probs).all() and np.isfinite(train_probs).all()):
            raise NonFinite(f"Model outputs became NaN or inf at epoch {epoch}.")
        for split, y, p in (("train", train_y, train_probs), ("val", self.val_y, val_probs)):
            m = classification_metrics(y, p)
            self.rows.append({"epoch": epoch, "split": split, **{k: m[k] for k in METRICS},
                              "lr": lr, "seconds": time.time() - t0})
        self.files.epoch_end(self.history())  # history.csv, TensorBoard and MLflow see the epoch
        val_loss = self.rows[-1]["loss"]
        improved = val_loss < self.best[1]
        self.best = (epoch, val_loss) if improved else self.best
        self.checkpoints.save(self.method.snapshot(), "last.pt", *(["best.pt"] if improved else []))
        self.step_schedule(val_loss)
        self.progress(epoch / self.cfg.epochs, f"epoch {epoch}/{self.cfg.epochs}: val loss {val_loss:.4f}, "
                                               f"val acc {self.rows[-1]['accuracy']:.3f}")

    def step_schedule(self, val_loss: float) -> None:
        """The learning-rate schedule's step at the end of an epoch (plateau: on the val loss)."""
        if self.cfg.schedule == "plateau":
            self.sched.step(val_loss)
        elif self.sched is not None:
            self.sched.step()

    def history(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=HISTORY_COLUMNS)

    def result(self, status: str, message: str) -> RunResult:
        best_epoch, best_loss = self.best
        return RunResult(self.cfg.name, self.files.dir, status, message, best_epoch,
                         None if best_epoch is None else best_loss, self.history())


class RunFiles:
    """Everything a run writes, each file atomically: checkpoints/<run>/ (config.json, dataset.json, history.csv,
    best.pt, last.pt, summary.json, TensorBoard events) and plots_checkpoints/<run>/ (curves.html, curves.png); what
    its trackers log elsewhere (MLflow); and the training lock it holds meanwhile (training.lock,
    workbench.run.TrainingLock: how other processes tell running from interrupted)."""

    def __init__(self, run_dir: Path, plots: Path, device, trackers: Trackers | None = None):
        self.dir, self.plots, self.device, self.started = Path(run_dir), Path(plots), device, time.time()
        self.trackers = trackers or Trackers([])
        self.lock: TrainingLock | None = None
        self.n_classes = 2  # the task's, set by start: multi-class curves are titled as one-vs-rest means

    def start(self, cfg: RunConfig, store: Store, task: TaskData, channels: int) -> None:
        """The run folder with its config and what it trains on (so evaluation can tell when the dataset changed)."""
        self.create(cfg)
        self.n_classes = len(task.classes)
        write_json(self.dir / "dataset.json", {
            "dataset": cfg.dataset, "classes": task.classes, "dataset_classes": store.classes(cfg.dataset),
            "grouping": cfg.grouping, "channels": int(channels), "seed": cfg.seed, "split_seed": cfg.split_seed,
            # duplicate groups (exact and near copies) among its images, each kept on one side of the split
            "duplicate_groups": groups_kept(task.labels),
            "images": [{"image_id": int(r.image_id), "sha256": r.sha256, "split": r.split, "label": r.label}
                       for r in task.labels.itertuples()],
        }, default=str)
        self.trackers.start(cfg, self.dir)

    def create(self, cfg: RunConfig) -> None:
        """The run folder, its training lock and config.json; refused when the name was taken since the run was
        checked."""
        try:
            self.dir.mkdir(parents=True)
        except FileExistsError:  # taken since the run was checked (a queued job's name)
            raise WorkbenchError(taken(self.dir.name)) from None
        self.lock = TrainingLock(self.dir)  # before the config: a listed run without summary has a lock to probe
        cfg.save(self.dir / "config.json")

    def checkpoint_writer(self) -> CheckpointWriter:
        """The background writer of best.pt / last.pt; the epochs start now (the summary's seconds count them)."""
        self.started = time.time()
        return CheckpointWriter(self.dir)

    def history(self, history: pd.DataFrame) -> None:
        """history.csv as it is now: read by the live curves while the run trains."""
        write_csv(self.dir / "history.csv", history)

    def epoch_end(self, history: pd.DataFrame) -> None:
        """An epoch ended: history.csv, and its rows (train and val) to the trackers."""
        self.history(history)
        last = history[history.epoch == history.epoch.max()]
        self.trackers.epoch(int(last.epoch.iloc[0]), last.to_dict("records"))

    def finish(self, result: RunResult, distributed: dict | None = None, plots: bool = True) -> None:
        """The final history, the curves (a failure there is said in the message: the run itself is done), the summary."""
        self.history(result.history)
        if plots and len(result.history):
            try:
                result.curves = save_curves({result.run: result.history}, self.plots, result.run,
                                            n_classes=self.n_classes)["html"].parent
            except Exception as e:
                result.message += f" Saving the curves failed: {e}"
        self.summary(result, distributed)

    def summary(self, result: RunResult, distributed: dict | None = None) -> None:
        """summary.json: how the run ended (status, message, best epoch, seconds; DDP facts under torchrun), after
        the trackers have had the run's files (a tracker that failed is named in the message)."""
        summary = {
            "run": result.run, "status": result.status, "message": result.message,
            "best_epoch": result.best_epoch, "best_val_loss": result.best_val_loss,
            "epochs_done": int(result.history.epoch.max()) if len(result.history) else 0,
            "device": str(self.device), "seconds": round(time.time() - self.started, 2),
            "finished_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            **({"distributed": distributed} if distributed else {})}
        self.trackers.finish(result.status, self.artifacts(), summary)
        if self.trackers.warnings:
            result.message = summary["message"] = " ".join([result.message, *self.trackers.warnings])
        write_json(self.dir / "summary.json", summary, default=str)
        self.close()

    def artifacts(self) -> list[Path]:
        """The run's files a tracker keeps: settings, images used, history, best checkpoint, curves."""
        return [*(self.dir / f for f in ("config.json", "dataset.json", "history.csv", "best.pt")),
                *(self.plots / self.dir.name / f for f in ("curves.html", "curves.png"))]

    def close(self) -> None:
        """Release the training lock (after the summary, or when the run stops without one: its trackers end then)."""
        if self.trackers.active:
            self.trackers.finish("failed", [], {"status": "failed", "message": "stopped before its first epoch ended"})
        if self.lock is not None:
            self.lock.release()


class NoFiles:
    """Ranks other than 0 under torchrun write nothing (a class of its own: a method added to RunFiles must not
    write from every rank by inheritance). `dir`: rank 0's run folder, which the run's result names."""

    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir)

    def start(self, *a, **k) -> None:
        pass

    def checkpoint_writer(self):
        return _NoCheckpoints()

    def history(self, history) -> None:
        pass

    def epoch_end(self, history) -> None:
        pass

    def finish(self, *a, **k) -> None:
        pass

    def summary(self, *a, **k) -> None:
        pass

    def close(self) -> None:
        pass


class _NoCheckpoints:
    def save(self, *a) -> None:
        pass

    def close(self) -> None:
        pass


def _quiet(frac: float, msg: str) -> None:
    pass


def taken(run: str) -> str:
    """The message refusing a run name that is in use."""
    return f"A run named {run!r} exists already; choose another name."


def _digest(params) -> str:
    h = hashlib.sha256()
    for p in params:
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def distributed_summary(ddp: dist.Dist, method: TrainingMethod) -> dict | None:
    """What each rank saw in epoch 1 and ended with (gathered from every rank: call it on all of them): proof in
    summary.json that the shards were disjoint and the replicas stayed identical. None for one process."""
    shards, digests = dist.gather(method.seen, ddp), dist.gather(_digest(method.parameters()), ddp)
    return _shard_summary(ddp, shards, digests)


def _shard_summary(ddp: dist.Dist, shards: list[list[int]], digests: list[str]) -> dict | None:
    if not ddp.enabled:
        return None
    seen = [i for s in shards for i in s]
    return {"world_size": ddp.world, "backend": torch.distributed.get_backend(),
            "epoch1_images_per_rank": [len(s) for s in shards], "epoch1_images_on_two_ranks": len(seen) - len(set(seen)),
            "identical_parameters_on_all_ranks": len(set(digests)) == 1}


# -- helpers ----------------------------------------------------------------------------------------------
def make_optimizer(cfg: RunConfig, params, lr: float) -> torch.optim.Optimizer:
    """The run's optimizer (cfg.optimizer) over the trainable ones of `params`, at `lr`."""
    # fused kernels (CPU and CUDA): the AdamW step of resnet18 drops from ~66 ms to ~11 ms per batch on 2 cores
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=cfg.weight_decay, fused=True)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay, fused=True)
    return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay, fused=True)


def make_scheduler(cfg: RunConfig, opt):
    """The run's learning-rate schedule (cfg.schedule) on `opt`; None for a constant rate."""
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.3, patience=2)
    return None
