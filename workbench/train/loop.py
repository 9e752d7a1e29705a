"""The training run: one function, readable top to bottom.

Fine-tuning trains the whole network on augmented batches; feature extraction embeds every image once
with the frozen backbone and trains only the head on the cached embeddings (no augmentation there:
an embedding is computed once, so there is nothing to augment).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from workbench import paths
from workbench.errors import WorkbenchError
from workbench.metrics import classification_metrics
from workbench.store import Store
from workbench.train import data as D
from workbench.train import distributed as dist
from workbench.train.backbones import build_model, check_backbone, head_prefix, pick_device, place
from workbench.train.checkpoints import CheckpointError, CheckpointWriter, snapshot
from workbench.train.config import RunConfig
from workbench.train.small_map_conv import use_small_map_convs

HISTORY_COLUMNS = ["epoch", "split", "loss", "accuracy", "precision", "recall", "f1", "roc_auc", "eer", "lr", "seconds"]
Progress = Callable[[float, str], None]


class Cancelled(Exception):
    pass


@dataclass
class RunResult:
    """How a run ended. status: "completed", "cancelled" or "failed" (message says why)."""

    run: str
    run_dir: Path
    status: str
    message: str
    best_epoch: int | None
    best_val_loss: float | None
    history: pd.DataFrame


def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y)


def train(cfg: RunConfig, store: Store | None = None, progress: Progress | None = None,
          cancel=None) -> RunResult:
    """Train one run to checkpoints/<run>/ (config, dataset, history, best.pt, last.pt, summary).

    Bad configuration or data raises WorkbenchError before anything is written; a run that goes
    NaN, or is cancelled, stops with its best checkpoint kept and says so in the result.
    """
    store = store or Store()
    ddp = dist.setup(cfg.device)
    cfg.name = dist.broadcast(cfg.name, ddp)  # a default name holds the time: rank 0's names the run
    df, classes = precheck(cfg, store)
    dist.barrier(ddp)  # every rank has checked the name before rank 0 creates the run folder
    run_dir = paths.checkpoints_dir() / cfg.name
    progress = (progress or (lambda frac, msg: None)) if ddp.master else (lambda frac, msg: None)
    torch.manual_seed(cfg.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    np.random.seed(cfg.seed)
    model = build_model(cfg.backbone, len(classes), cfg.weights)
    device = dist.device_for(ddp, pick_device(cfg.device))
    place(model, device)

    progress(0.0, "loading images")
    splits = {}
    for s in ("train", "val"):
        part = df[df.split == s]
        splits[s] = D.Split(D.load_images(part.path.tolist(), cfg.input_size),
                            torch.tensor(part.y.to_numpy(dtype=np.int64)), part.image_id.to_numpy())
    channels = max(sp.images.shape[1] for sp in splits.values())
    for sp in splits.values():  # one colour image anywhere makes the whole run RGB
        sp.images = sp.images.expand(-1, channels, -1, -1).contiguous() if sp.images.shape[1] < channels else sp.images
    if ddp.master:
        run_dir.mkdir(parents=True)
        cfg.save(run_dir / "config.json")
        _write_dataset_json(run_dir, cfg, store, df, classes, channels)

    step = (_HeadOnly if cfg.method == "feature_extract" else _FineTune)(model, cfg, splits, device, progress, ddp)
    opt = _optimizer(cfg, step.parameters(), cfg.lr * step.lr_scale)
    sched = _scheduler(cfg, opt)
    gen = torch.Generator().manual_seed(cfg.seed + ddp.rank)  # augmentations differ per rank

    rows, best, status, message = [], (None, math.inf), "completed", ""
    started = time.time()
    checkpoints = CheckpointWriter(run_dir) if ddp.master else _NoCheckpoints()
    try:
        for epoch in range(1, cfg.epochs + 1):
            t0 = time.time()
            lr = opt.param_groups[0]["lr"]
            train_probs, train_y = step.train_epoch(opt, gen, epoch, cancel)
            val_probs = step.predict("val")
            if not (np.isfinite(val_probs).all() and np.isfinite(train_probs).all()):
                raise _NonFinite(f"Model outputs became NaN or inf at epoch {epoch}.")
            for split, y, p in (("train", train_y, train_probs), ("val", splits["val"].y.numpy(), val_probs)):
                m = classification_metrics(y, p)
                rows.append({"epoch": epoch, "split": split, **{k: m[k] for k in HISTORY_COLUMNS[2:9]},
                             "lr": lr, "seconds": time.time() - t0})
            history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
            if ddp.master:
                _atomic_csv(history, run_dir / "history.csv")
            val_loss = rows[-1]["loss"]
            improved = val_loss < best[1]
            best = (epoch, val_loss) if improved else best
            checkpoints.save(step.snapshot(), "last.pt", *(["best.pt"] if improved else []))
            if cfg.schedule == "plateau":
                sched.step(val_loss)
            elif sched is not None:
                sched.step()
            progress(epoch / cfg.epochs, f"epoch {epoch}/{cfg.epochs}: val loss {val_loss:.4f}, "
                                         f"val acc {rows[-1]['accuracy']:.3f}")
    except Cancelled:
        status, message = "cancelled", f"Cancelled after {len(rows) // 2} complete epoch(s)."
    except _NonFinite as e:
        status = "failed"
        kept = f"best checkpoint from epoch {best[0]} kept" if best[0] else "no checkpoint was saved"
        message = f"{e} Training stopped; {kept}. Try a lower learning rate."
    except CheckpointError as e:
        status, message = "failed", f"{e}. Training stopped; best.pt and last.pt are the last complete ones."
    except BaseException as e:  # out of memory, a bug, Ctrl-C: leave a summary that says so, then re-raise
        try:
            checkpoints.close()
        except Exception:
            pass  # the original error is the one to report
        history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
        if ddp.master:
            _write_summary(RunResult(cfg.name, run_dir, "failed", f"{type(e).__name__}: {e}", best[0],
                                     None if best[0] is None else best[1], history), device, started)
        raise
    try:
        checkpoints.close()
    except CheckpointError as e:  # the last writes failed; an earlier failure has said so already
        if status != "failed":
            status, message = "failed", f"{e}. best.pt and last.pt are the last complete ones."
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    result = RunResult(cfg.name, run_dir, status, message or f"Completed {cfg.epochs} epochs.",
                       best[0], None if best[0] is None else best[1], history)
    # what each rank saw in epoch 1 and ended with: proof in summary.json that the shards were disjoint
    # and the replicas stayed identical
    shards, digests = dist.gather(step.seen, ddp), dist.gather(_digest(step.parameters()), ddp)
    if ddp.master:
        _atomic_csv(history, run_dir / "history.csv")
        _write_summary(result, device, started, _shard_summary(ddp, shards, digests))
    return result


def precheck(cfg: RunConfig, store: Store) -> tuple[pd.DataFrame, list[str]]:
    """Every cheap check before a run starts (config, name, backbone, dataset, labels): errors at once, not later."""
    cfg.validate()
    if (paths.checkpoints_dir() / cfg.name).exists():
        raise WorkbenchError(f"A run named {cfg.name!r} exists already; choose another name.")
    check_backbone(cfg.backbone)
    df, classes = D.task_labels(store, cfg.dataset, cfg.grouping, cfg.seed)
    D.check_trainable(df, classes)
    return df, classes


def _step(module: nn.Module, x: torch.Tensor, y: torch.Tensor, opt, epoch: int, batch: int) -> torch.Tensor:
    """One optimisation step on a batch; returns the detached logits. A non-finite loss stops the run."""
    logits = module(x)
    loss = loss_fn(logits, y)
    if not torch.isfinite(loss):
        raise _NonFinite(f"Loss became {loss.item()} at epoch {epoch}, batch {batch}.")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return logits.detach()


# -- the two methods: same interface, different work per epoch -----------------------------------------
class _FineTune:
    """End to end: augmented batches through backbone and head."""

    lr_scale = 1.0

    def __init__(self, model: nn.Module, cfg: RunConfig, splits: dict, device, progress: Progress,
                 ddp: dist.Dist = dist.Dist()):
        self.model, self.cfg, self.splits, self.device, self.progress = model, cfg, splits, device, progress
        self.ddp, self.seen = ddp, []
        use_small_map_convs(model)  # same maths; resnet18 on 24 px trains ~1.7x faster per step on CPU
        self.net = _wrap(model, ddp, device)

    def parameters(self):
        return self.model.parameters()

    def snapshot(self) -> dict:
        return snapshot(self.model.state_dict())

    def train_epoch(self, opt, gen, epoch, cancel):
        self.model.train()
        data = self.splits["train"]
        order = _epoch_order(len(data), self, epoch)
        probs, ys = [], []
        n_batches = math.ceil(len(order) / self.cfg.batch_size)
        for b, idx in enumerate(order.split(self.cfg.batch_size)):
            if cancel is not None and cancel.is_set():
                raise Cancelled
            x = D.to_input(data.images[idx].to(self.device), self.cfg.augment.normalize)
            x = D.augment_batch(x, self.cfg.augment, gen)
            y = data.y[idx].to(self.device)
            logits = _step(self.net, x, y, opt, epoch, b + 1)
            probs.append(logits.softmax(1).cpu())
            ys.append(y.cpu())
            self.progress((epoch - 1 + (b + 1) / n_batches) / self.cfg.epochs, f"epoch {epoch}: batch {b + 1}/{n_batches}")
        dist.sync_buffers(self.model, self.ddp)
        return _gathered(probs, ys, self.ddp)

    @torch.no_grad()
    def predict(self, split: str) -> np.ndarray:
        self.model.eval()
        imgs = self.splits[split].images
        out = [self.model(D.to_input(imgs[i:i + 256].to(self.device), self.cfg.augment.normalize)).softmax(1).cpu()
               for i in range(0, len(imgs), 256)]
        return torch.cat(out).double().numpy()


class _HeadOnly:
    """Frozen backbone: embed train and val once, then train the head on cached embeddings.

    The head trains on embeddings centred on the train mean and scaled to unit RMS (one factor for all
    features), folded back into the model's own linear head for every checkpoint: pooled features of small
    inputs can be ~1e-3 in size (Lite0 at 32 px), which leaves a head trained on them at chance. A scale per
    feature was tried and dropped: it blew near-constant features up into huge weights (blank Grad-CAMs).
    The head alone learns at 10x the run's learning rate, the usual head-vs-backbone ratio: at the shared default
    it stayed under-fitted after 10 epochs, below a tuned linear probe on the same embeddings (digits at 32 px:
    val acc 0.400 vs the probe's 0.415; at 10x 0.422).
    """

    lr_scale = 10.0

    def __init__(self, model: nn.Module, cfg: RunConfig, splits: dict, device, progress: Progress,
                 ddp: dist.Dist = dist.Dist()):
        self.model, self.cfg, self.splits, self.device = model, cfg, splits, device
        self.ddp, self.seen = ddp, []
        self.head = model.get_submodule(head_prefix(model))
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        progress(0.0, "computing embeddings")
        emb = {s: embed(model, sp.images, device, cfg.augment.normalize) for s, sp in splits.items()}
        if isinstance(self.head, nn.Linear):
            # one scale for all features (not one per feature): near-constant features must not be blown up
            self.mean = emb["train"].mean(0)
            self.std = (emb["train"] - self.mean).pow(2).mean().sqrt().clamp_min(1e-12)
            self.trained = nn.Linear(self.head.in_features, self.head.out_features).to(device)
            with torch.no_grad():  # start from the model's own head, expressed on the scaled inputs
                self.trained.weight.copy_(self.head.weight * self.std)
                self.trained.bias.copy_(self.head.bias + self.head.weight @ self.mean)
        else:  # a head that is not one linear layer: train it as it is, on raw embeddings
            self.mean, self.std, self.trained = 0.0, 1.0, self.head
            self.head.requires_grad_(True)
        self.emb = {s: (e - self.mean) / self.std for s, e in emb.items()}
        head = head_prefix(model) + "."
        # the backbone never changes here (frozen, eval mode): copy it once for all checkpoints
        self.frozen = {k: v for k, v in snapshot(model.state_dict()).items() if not k.startswith(head)}
        self.net = _wrap(self.trained, ddp, device)

    def parameters(self):
        return self.trained.parameters()

    def snapshot(self) -> dict:
        if self.trained is not self.head:  # fold the scaling into the model's head: W/std, b - W·mean/std
            with torch.no_grad():
                w = self.trained.weight / self.std
                self.head.weight.copy_(w)
                self.head.bias.copy_(self.trained.bias - w @ self.mean)
        return snapshot(self.model.state_dict(), reuse=self.frozen)

    def train_epoch(self, opt, gen, epoch, cancel):
        if cancel is not None and cancel.is_set():
            raise Cancelled
        emb, y_all = self.emb["train"], self.splits["train"].y.to(self.device)
        order = _epoch_order(len(emb), self, epoch).to(self.device)
        probs, ys = [], []
        for b, idx in enumerate(order.split(self.cfg.batch_size)):
            y = y_all[idx]
            logits = _step(self.net, emb[idx], y, opt, epoch, b + 1)
            probs.append(logits.softmax(1).cpu())
            ys.append(y.cpu())
        return _gathered(probs, ys, self.ddp)

    @torch.no_grad()
    def predict(self, split: str) -> np.ndarray:
        return self.trained(self.emb[split]).softmax(1).double().cpu().numpy()


@torch.no_grad()
def embed(model: nn.Module, images_u8: torch.Tensor, device, normalize: bool = True, batch_size: int = 256) -> torch.Tensor:
    """Pooled backbone features (what the head sees) for uint8 images, computed in eval mode."""
    model.eval()
    out = []
    for i in range(0, len(images_u8), batch_size):
        x = D.to_input(images_u8[i:i + batch_size].to(device), normalize)
        out.append(model.forward_head(model.forward_features(x), pre_logits=True))
    return torch.cat(out) if out else torch.zeros((0, model.num_features), device=device)


class _NonFinite(Exception):
    pass


# -- across processes (torchrun): see distributed.py ------------------------------------------------------
def _wrap(module: nn.Module, ddp: dist.Dist, device) -> nn.Module:
    """The module a training step calls: DDP (gradients averaged over ranks) when launched by torchrun."""
    if not ddp.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def _epoch_order(n: int, step, epoch: int) -> torch.Tensor:
    """This rank's shuffled shard of the epoch (the whole shuffled split with one process)."""
    s = dist.sampler(n, step.ddp, step.cfg.seed)
    s.set_epoch(epoch)
    order = torch.tensor(list(s), dtype=torch.long)
    if epoch == 1:
        step.seen = order.tolist()
    return order


def _gathered(probs: list, ys: list, ddp: dist.Dist) -> tuple[np.ndarray, np.ndarray]:
    """The epoch's train predictions and labels over all ranks (metrics of the whole split)."""
    p, y = torch.cat(probs).double().numpy(), torch.cat(ys).numpy()
    return dist.gather_arrays(p, ddp), dist.gather_arrays(y, ddp)


def _digest(params) -> str:
    h = hashlib.sha256()
    for p in params:
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _shard_summary(ddp: dist.Dist, shards: list[list[int]], digests: list[str]) -> dict | None:
    if not ddp.enabled:
        return None
    seen = [i for s in shards for i in s]
    return {"world_size": ddp.world, "backend": torch.distributed.get_backend(),
            "epoch1_images_per_rank": [len(s) for s in shards], "epoch1_images_on_two_ranks": len(seen) - len(set(seen)),
            "identical_parameters_on_all_ranks": len(set(digests)) == 1}


class _NoCheckpoints:
    """Ranks other than 0 write nothing."""

    def save(self, *a) -> None:
        pass

    def close(self) -> None:
        pass


# -- helpers ----------------------------------------------------------------------------------------------
def _optimizer(cfg: RunConfig, params, lr: float) -> torch.optim.Optimizer:
    # fused kernels (CPU and CUDA): the AdamW step of resnet18 drops from ~66 ms to ~11 ms per batch on 2 cores
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=cfg.weight_decay, fused=True)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay, fused=True)
    return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay, fused=True)


def _scheduler(cfg: RunConfig, opt):
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.3, patience=2)
    return None


def _atomic_csv(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(path)


def _write_json(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    tmp.replace(path)


def _write_dataset_json(run_dir: Path, cfg: RunConfig, store: Store, df: pd.DataFrame, classes: list[str],
                        channels: int) -> None:
    """What the run was trained on, so evaluation can tell when the dataset changed since."""
    _write_json({
        "dataset": cfg.dataset, "classes": classes, "dataset_classes": store.classes(cfg.dataset),
        "grouping": cfg.grouping, "channels": int(channels), "seed": cfg.seed,
        "images": [{"image_id": int(r.image_id), "sha256": r.sha256, "split": r.split, "label": r.label}
                   for r in df.itertuples()],
    }, run_dir / "dataset.json")


def _write_summary(result: RunResult, device, started: float, distributed: dict | None = None) -> None:
    _write_json({"run": result.run, "status": result.status, "message": result.message,
                 "best_epoch": result.best_epoch, "best_val_loss": result.best_val_loss,
                 "epochs_done": int(result.history.epoch.max()) if len(result.history) else 0,
                 "device": str(device), "seconds": round(time.time() - started, 2),
                 "finished_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                 **({"distributed": distributed} if distributed else {})}, result.run_dir / "summary.json")
