"""Training a detector: the classification run's machinery (RunConfig, run folder, checkpoint writer, history,
curves, torchrun) with a detection epoch: augmented images and boxes through a torchvision detector, then the val
split scored by its loss and mAP. The best epoch is the one with the highest val mAP@0.5.

`method` keeps its meaning: finetune trains the backbone too (all but its stem and first two stages, whose
high-resolution backward pass costs most and whose edge filters transfer as they are); feature_extract freezes the
whole backbone and trains the feature pyramid and the head. The backbone's BatchNorm statistics stay frozen in
both: detection batches of a few images are too small to estimate them.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from workbench.atomic import write_json
from workbench.detect import data as DD
from workbench.detect.map import detection_metrics
from workbench.detect.model import LABEL_OFFSET, build_detector
from workbench.errors import WorkbenchError
from workbench.metrics import DETECTION_METRICS
from workbench.store import Store
from workbench.train import distributed as dist
from workbench.train.backbones import pick_device, place
from workbench.train.checkpoints import snapshot
from workbench.train.config import RunConfig
from workbench.train.loop import Epochs, NoFiles, Progress, RunFiles, RunResult, distributed_summary, taken
from workbench.train.methods import Cancelled, NonFinite, epoch_order, wrap_ddp
from workbench.train.trackers import Trackers
from workbench.workspace import Workspace

DETECTION_HISTORY_COLUMNS = ["epoch", "split", *DETECTION_METRICS, "lr", "seconds"]
FROZEN_FOR_FINETUNE = ("conv_stem", "bn1", "blocks.0.", "blocks.1.")  # timm EfficientNet/MobileNet names
GRAD_CLIP = 10.0  # a detector's first steps on a fresh head can spike; clipping keeps AdamW from diverging


def train_detector(ws: Workspace, cfg: RunConfig, progress: Progress | None = None, cancel=None,
                   task: DD.DetectionTask | None = None, plots: bool = True) -> RunResult:
    """Train one detection run to checkpoints/<run>/ and its curves to plots_checkpoints/<run>/ (see loop.train)."""
    ddp = dist.setup(cfg.device)
    cfg.name = dist.broadcast(cfg.name, ddp)  # a default name holds the time: rank 0's names the run
    task = task or precheck(ws, cfg)
    dist.barrier(ddp)
    progress = (progress or _quiet) if ddp.master else _quiet
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    model = build_detector(cfg.detect.detector, cfg.backbone, len(task.classes), cfg.detect.image_size, cfg.weights)
    device = dist.device_for(ddp, pick_device(cfg.device))
    place(model, device)
    folder = ws.run_folder(cfg.name)
    files = DetectionFiles(folder, ws.plots, device, Trackers.for_run(ws.mlflow)) if ddp.master else NoFiles(folder)
    files.start(cfg, ws.store, task)
    try:
        method = Detection(model, cfg, task, device, progress, ddp)
        result = DetectionEpochs(cfg, method, files, progress, cancel, ddp).run()
        files.finish(result, distributed_summary(ddp, method), plots)
    finally:
        files.close()  # the run's training lock: without a summary the run is now "interrupted"
    return result


def precheck(ws: Workspace, cfg: RunConfig) -> DD.DetectionTask:
    """Every cheap check before a detection run starts: config, name, detector, backbone, boxes and splits."""
    cfg.validate()
    if ws.run_folder(cfg.name).exists():
        raise WorkbenchError(taken(cfg.name))
    task = DD.detection_task(ws.store, cfg.dataset, cfg.grouping, cfg.split_seed)
    DD.check_trainable(task)
    return task


class Detection:
    """The detector, its two splits and one epoch of training or scoring (the loop's TrainingMethod, for boxes)."""

    def __init__(self, model: nn.Module, cfg: RunConfig, task: DD.DetectionTask, device, progress: Progress,
                 ddp: dist.Dist = dist.Dist()):
        self.model = model
        self.cfg = cfg
        self.device = device
        self.progress = progress
        self.ddp = ddp
        self.seen: list[int] = []
        self.offset = LABEL_OFFSET.get(cfg.detect.detector, 0)  # 1 where label 0 is the background
        size = cfg.detect.image_size
        self.train_data = DD.BoxedImages(*task.split("train"), DD.train_transform(size, cfg.augment), self.offset)
        self.val_data = DD.BoxedImages(*task.split("val"), DD.eval_transform(size), self.offset)
        freeze(model, cfg.method)
        self.net = wrap_ddp(model, ddp, device)

    def parameters(self):
        return (p for p in self.model.parameters() if p.requires_grad)

    def lr_scale(self) -> float:
        return 1.0

    def snapshot(self) -> dict:
        return snapshot(self.model.state_dict())

    def train_epoch(self, opt, gen, epoch: int, cancel) -> float:
        """One pass over this rank's shard of the train images; the mean loss over all ranks. Raises Cancelled."""
        self.model.train()
        order = epoch_order(len(self.train_data), self, epoch).tolist()
        losses = []
        chunks = DD.batches(order, self.cfg.batch_size)
        for b, idx in enumerate(chunks, 1):
            if cancel is not None and cancel.is_set():
                raise Cancelled
            images, targets = self._batch(self.train_data, idx)
            loss = sum(self.net(images, targets).values())
            if not torch.isfinite(loss):
                raise NonFinite(f"Loss became {loss.item()} at epoch {epoch}, batch {b}.")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(list(self.parameters()), GRAD_CLIP)
            opt.step()
            losses.append(loss.item())
            self.progress((epoch - 1 + b / len(chunks)) / self.cfg.epochs, f"epoch {epoch}: batch {b}/{len(chunks)}")
        return float(np.mean(np.concatenate(dist.gather(np.asarray(losses), self.ddp))))

    @torch.no_grad()
    def score(self) -> dict[str, float]:
        """The val split's mean loss and mAP (every rank scores its share; the metrics are over all of them)."""
        mine = list(range(self.ddp.rank, len(self.val_data), self.ddp.world))
        losses, preds, truths = [], [], []
        for idx in DD.batches(mine, self.cfg.batch_size):
            images, targets = self._batch(self.val_data, idx)
            self.model.train()  # torchvision detectors give losses in train mode only; the backbone's BN stays frozen
            losses.append(float(sum(self.model(images, targets).values())))
            self.model.eval()
            for out, t in zip(self.model(images), targets):
                preds.append({k: out[k].cpu() for k in ("boxes", "scores", "labels")})
                truths.append({"boxes": t["boxes"].cpu(), "labels": t["labels"].cpu()})
        losses, preds, truths = (sum(dist.gather(x, self.ddp), []) for x in (losses, preds, truths))
        shift = lambda d: {**d, "labels": d["labels"] - self.offset}  # noqa: E731 (back to class indices)
        m = detection_metrics([shift(p) for p in preds], [shift(t) for t in truths])
        return {"loss": float(np.mean(losses)) if losses else math.nan, "map_50": m["map_50"], "map": m["map"]}

    def _batch(self, data: DD.BoxedImages, idx: list[int]) -> tuple[list[torch.Tensor], list[dict]]:
        items = [data[i] for i in idx]
        images = [x.to(self.device) for x, _ in items]
        targets = [{"boxes": t["boxes"].to(self.device), "labels": t["labels"].to(self.device)} for _, t in items]
        return images, targets


class DetectionEpochs(Epochs):
    """The classification loop's epochs (cancel, NaN and checkpoint handling), each one a detection epoch."""

    def __init__(self, cfg: RunConfig, method: Detection, files: RunFiles, progress: Progress, cancel, ddp: dist.Dist):
        super().__init__(cfg, method, np.empty(0), files, progress, cancel, ddp)
        self.best_map = -math.inf

    def epoch(self, epoch: int) -> None:
        """Train one epoch, score val (loss, mAP), write history and checkpoints, step the schedule."""
        t0, lr = time.time(), self.opt.param_groups[0]["lr"]
        # train
        train_loss = self.method.train_epoch(self.opt, self.gen, epoch, self.cancel)
        # score
        val = self.method.score()
        if not (math.isfinite(train_loss) and math.isfinite(val["loss"])):
            raise NonFinite(f"The loss became NaN or inf at epoch {epoch}.")
        # history and checkpoints: the best epoch has the highest val mAP@0.5 (ties: the lower val loss)
        seconds = time.time() - t0
        self.rows.append({"epoch": epoch, "split": "train", "loss": train_loss, "lr": lr, "seconds": seconds})
        self.rows.append({"epoch": epoch, "split": "val", **val, "lr": lr, "seconds": seconds})
        self.files.epoch_end(self.history())  # history.csv, TensorBoard and MLflow see the epoch
        improved = val["map_50"] > self.best_map or (val["map_50"] == self.best_map and val["loss"] < self.best[1])
        if improved:
            self.best, self.best_map = (epoch, val["loss"]), val["map_50"]
        names = ["last.pt", "best.pt"] if improved else ["last.pt"]
        self.checkpoints.save(self.method.snapshot(), *names)
        # schedule
        self.step_schedule(val["loss"])
        self.progress(epoch / self.cfg.epochs, f"epoch {epoch}/{self.cfg.epochs}: val loss {val['loss']:.4f}, "
                                               f"val mAP@0.5 {val['map_50']:.3f}, mAP {val['map']:.3f}")

    def history(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=DETECTION_HISTORY_COLUMNS)


class DetectionFiles(RunFiles):
    """A run's files (RunFiles) with the detection task's dataset.json: classes, and each image's split and boxes."""

    def start(self, cfg: RunConfig, store: Store, task: DD.DetectionTask, channels: int = 3) -> None:
        self.create(cfg)
        counts = task.boxes.groupby("image_id").size()
        write_json(self.dir / "dataset.json", {
            "task": "detection", "dataset": cfg.dataset, "classes": task.classes,
            "dataset_classes": store.classes(cfg.dataset), "grouping": cfg.grouping, "channels": 3, "seed": cfg.seed,
            "split_seed": cfg.split_seed,
            "images": [{"image_id": int(r.image_id), "sha256": r.sha256, "split": r.split,
                        "boxes": int(counts.get(r.image_id, 0))} for r in task.images.itertuples()],
        }, default=str)
        self.trackers.start(cfg, self.dir)


def freeze(model: nn.Module, method: str) -> None:
    """finetune: the backbone's stem and first two stages frozen; feature_extract: the whole backbone."""
    for name, p in model.backbone.body.named_parameters():
        p.requires_grad_(method == "finetune" and not name.startswith(FROZEN_FOR_FINETUNE))


def _quiet(frac: float, msg: str) -> None:
    pass
