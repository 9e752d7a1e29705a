"""The two training methods, behind one interface (`TrainingMethod`) the loop calls every epoch.

Fine-tuning trains the whole network on augmented batches; feature extraction embeds every image once with
the frozen backbone and trains only the head on the cached embeddings (no augmentation there: an embedding
is computed once, so there is nothing to augment). `METHODS` maps RunConfig.method to the class (timm-style
registry): a new method is a class with this interface, registered with `@register("name")`.
"""

from __future__ import annotations

import math
from typing import Callable, ClassVar, Iterable, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from workbench.train import data as D
from workbench.train import distributed as dist
from workbench.train.backbones import head_prefix
from workbench.train.checkpoints import snapshot
from workbench.train.config import RunConfig
from workbench.train.embedding import embed
from workbench.train.small_map_conv import use_small_map_convs

Progress = Callable[[float, str], None]


class Cancelled(Exception):
    """The user asked the run to stop; raised between batches."""


class NonFinite(Exception):
    """The loss or the model's outputs became NaN or inf."""


class TrainingMethod(Protocol):
    """What the training loop needs of a method, built as cls(model, cfg, splits, device, progress, ddp)."""

    seen: list[int]  # the image indices this rank trained on in epoch 1 (proof of disjoint DDP shards)
    # the share of the run's progress bar its construction fills (`progress` there goes 0..1 over it)
    setup_share: ClassVar[float]

    def parameters(self) -> Iterable[nn.Parameter]:
        """The parameters the optimizer steps (those not trainable are filtered out by the loop)."""

    def lr_scale(self) -> float:
        """The factor on the run's learning rate for these parameters."""

    def snapshot(self) -> dict:
        """A CPU copy of the whole model's state dict, for a checkpoint (see checkpoints.snapshot)."""

    def train_epoch(self, opt: torch.optim.Optimizer, gen: torch.Generator, epoch: int,
                    cancel) -> tuple[np.ndarray, np.ndarray]:
        """One epoch of optimisation; returns (train probabilities, labels) over all ranks. Raises Cancelled."""

    def predict(self, split: str) -> np.ndarray:
        """(N, C) float64 probabilities of a split held in memory ("train" or "val")."""


METHODS: dict[str, type[TrainingMethod]] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make a training method available as RunConfig.method == name."""
    def add(cls: type) -> type:
        METHODS[name] = cls
        return cls
    return add


def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The training objective of both methods: cross-entropy on the logits (no softmax before it)."""
    return F.cross_entropy(logits, y)


def _step(module: nn.Module, x: torch.Tensor, y: torch.Tensor, opt, epoch: int, batch: int) -> torch.Tensor:
    """One optimisation step on a batch; returns the detached logits. A non-finite loss stops the run."""
    logits = module(x)
    loss = loss_fn(logits, y)
    if not torch.isfinite(loss):
        raise NonFinite(f"Loss became {loss.item()} at epoch {epoch}, batch {batch}.")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return logits.detach()


@register("finetune")
class FineTune:
    """End to end: augmented batches through backbone and head."""

    setup_share: ClassVar[float] = 0.0

    def __init__(self, model: nn.Module, cfg: RunConfig, splits: dict[str, D.Split], device, progress: Progress,
                 ddp: dist.Dist = dist.Dist()):
        self.model, self.cfg, self.splits, self.device, self.progress = model, cfg, splits, device, progress
        self.ddp, self.seen = ddp, []
        use_small_map_convs(model)  # same maths; resnet18 on 24 px trains ~1.7x faster per step on CPU
        self.net = wrap_ddp(model, ddp, device)

    def parameters(self):
        return self.model.parameters()

    def lr_scale(self) -> float:
        return 1.0

    def snapshot(self) -> dict:
        return snapshot(self.model.state_dict())

    def train_epoch(self, opt, gen, epoch, cancel):
        self.model.train()
        data = self.splits["train"]
        order = epoch_order(len(data), self, epoch)
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


@register("feature_extract")
class HeadOnly:
    """Frozen backbone: embed train and val once, then train the head on cached embeddings.

    The head trains on embeddings centred on the train mean and scaled to unit RMS (one factor for all
    features), folded back into the model's own linear head for every checkpoint: pooled features of small
    inputs can be ~1e-3 in size (Lite0 at 32 px), which leaves a head trained on them at chance. A scale per
    feature was tried and dropped: it blew near-constant features up into huge weights (blank Grad-CAMs).
    The head learns at RunConfig.head_lr_scale times the run's learning rate (see there for why).
    """

    setup_share: ClassVar[float] = 0.8   # embedding every image once: the epochs over the embeddings are quick

    def __init__(self, model: nn.Module, cfg: RunConfig, splits: dict[str, D.Split], device, progress: Progress,
                 ddp: dist.Dist = dist.Dist()):
        self.model, self.cfg, self.splits, self.device = model, cfg, splits, device
        self.ddp, self.seen = ddp, []
        self.head = model.get_submodule(head_prefix(model))
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        total, before = sum(len(sp.images) for sp in splits.values()), 0
        progress(0.0, f"computing embeddings: 0 / {total} images")
        emb = {}
        for s, sp in splits.items():  # the count moves batch by batch (MNIST-5000 at 32 px: ~40 s on 2 CPUs)
            emb[s] = embed(model, sp.images, device, cfg.augment.normalize,
                           done=lambda n: progress((before + n) / total,
                                                   f"computing embeddings: {before + n} / {total} images"))
            before += len(sp.images)
        self._scaled_head(emb["train"])
        self.emb = {s: (e - self.mean) / self.std for s, e in emb.items()}
        head = head_prefix(model) + "."
        # the backbone never changes here (frozen, eval mode): copy it once for all checkpoints
        self.frozen = {k: v for k, v in snapshot(model.state_dict()).items() if not k.startswith(head)}
        self.net = wrap_ddp(self.trained, ddp, device)

    def _scaled_head(self, train_emb: torch.Tensor) -> None:
        """The head to train: the model's linear head expressed on scaled inputs, or any other head as it is."""
        if isinstance(self.head, nn.Linear):
            # one scale for all features (not one per feature): near-constant features must not be blown up
            self.mean = train_emb.mean(0)
            self.std = (train_emb - self.mean).pow(2).mean().sqrt().clamp_min(1e-12)
            self.trained = nn.Linear(self.head.in_features, self.head.out_features).to(self.device)
            with torch.no_grad():  # start from the model's own head, expressed on the scaled inputs
                self.trained.weight.copy_(self.head.weight * self.std)
                self.trained.bias.copy_(self.head.bias + self.head.weight @ self.mean)
        else:  # a head that is not one linear layer: train it as it is, on raw embeddings
            self.mean, self.std, self.trained = 0.0, 1.0, self.head
            self.head.requires_grad_(True)

    def parameters(self):
        return self.trained.parameters()

    def lr_scale(self) -> float:
        return self.cfg.head_lr_scale

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
        order = epoch_order(len(emb), self, epoch).to(self.device)
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


# -- across processes (torchrun): see distributed.py ------------------------------------------------------
def wrap_ddp(module: nn.Module, ddp: dist.Dist, device) -> nn.Module:
    """The module a training step calls: DDP (gradients averaged over ranks) when launched by torchrun."""
    if not ddp.enabled:
        return module
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def epoch_order(n: int, method, epoch: int) -> torch.Tensor:
    """This rank's shuffled shard of the epoch (the whole shuffled split with one process)."""
    s = dist.sampler(n, method.ddp, method.cfg.seed)
    s.set_epoch(epoch)
    order = torch.tensor(list(s), dtype=torch.long)
    if epoch == 1:
        method.seen = order.tolist()
    return order


def _gathered(probs: list, ys: list, ddp: dist.Dist) -> tuple[np.ndarray, np.ndarray]:
    """The epoch's train predictions and labels over all ranks (metrics of the whole split)."""
    p, y = torch.cat(probs).double().numpy(), torch.cat(ys).numpy()
    return dist.gather_arrays(p, ddp), dist.gather_arrays(y, ddp)
