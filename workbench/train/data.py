"""Training data: the run's task labels from the store, images decoded once into a tensor cache,
and batched tensor transforms (augmentation, normalisation) instead of per-image PIL work.

Every image goes through `image_to_uint8` once (resize to input size, 1 or 3 channels), so training,
evaluation and `predict` on a reloaded run see exactly the same pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from workbench.data.imageio import load_image
from workbench.data.splits import labelled
from workbench.data.tensors import image_to_uint8
from workbench.errors import WorkbenchError
from workbench.store import Store
from workbench.train.config import Augment

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# -- labels ----------------------------------------------------------------------------------
def task_classes(dataset_classes: list[str], grouping: dict[str, str] | None) -> list[str]:
    """Task classes in order of first appearance: the dataset's own, or the groups they map to."""
    if not grouping:
        return list(dataset_classes)
    unknown = [c for c in grouping if c not in dataset_classes]
    if unknown:
        raise WorkbenchError(f"Grouping names classes the dataset does not have: {', '.join(unknown)} "
                             f"(dataset classes: {', '.join(dataset_classes)}).")
    unmapped = [c for c in dataset_classes if c not in grouping]
    if unmapped:
        raise WorkbenchError(f"Grouping leaves classes without a group: {', '.join(unmapped)}. "
                             f"Map every class (e.g. {unmapped[0]}=other).")
    return list(dict.fromkeys(grouping[c] for c in dataset_classes))


def to_task(labels: pd.Series, grouping: dict[str, str] | None) -> pd.Series:
    """Dataset class names as the task's: each mapped to its group, or unchanged without a grouping.
    The one place a grouping is applied to labels (training data, evaluation's staleness check)."""
    return labels.map(grouping) if grouping else labels


def task_labels(store: Store, dataset: str, grouping: dict[str, str] | None,
                split_seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Labelled images of the dataset with the grouping applied: image_id, path, sha256, label, y, the split that
    `split_seed` gives (a run's config.split_seed), group (the image's duplicate group, NaN when it has no duplicate)."""
    classes = task_classes(store.classes(dataset), grouping)
    df = labelled(store, dataset, seed=split_seed)
    df["label"] = to_task(df["label"], grouping)
    index = {c: i for i, c in enumerate(classes)}
    df["y"] = df["label"].map(index).astype(int)
    return df[["image_id", "path", "sha256", "label", "y", "split", "group"]].reset_index(drop=True), classes


def check_trainable(df: pd.DataFrame, classes: list[str]) -> None:
    """Refuse a task that cannot train: <2 classes, a class without training images, empty splits."""
    if len(classes) < 2:
        raise WorkbenchError(f"Training needs at least 2 classes; this task has {len(classes)} ({', '.join(classes)}).")
    n_train = df[df.split == "train"].groupby("label").size()
    empty = [c for c in classes if n_train.get(c, 0) == 0]
    if empty:
        have = ", ".join(f"{c}: {int(n_train.get(c, 0))}" for c in classes)
        raise WorkbenchError(f"No training image for class {', '.join(empty)} (train images per class: {have}). "
                             f"Label more images of it, or group it with another class.")
    for split in ("train", "val"):
        if (df.split == split).sum() == 0:
            raise WorkbenchError(f"Too few labelled images for a {split} split ({len(df)} labelled in all). "
                                 f"Label at least a few per class so train and val both get some.")


# -- image cache -----------------------------------------------------------------------------
def load_images(paths: list[str], size: int) -> torch.Tensor:
    """Decode files once into (N, C, size, size) uint8; C is 1 when every image is grayscale."""
    imgs = [load_image(p) for p in paths]
    channels = 3 if any(im.mode == "RGB" for im in imgs) else 1
    if not imgs:
        return torch.zeros((0, channels, size, size), dtype=torch.uint8)
    return torch.stack([image_to_uint8(im, size, channels) for im in imgs])


# -- batched transforms ----------------------------------------------------------------------
def to_input(batch_u8: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """uint8 (B, 1|3, S, S) -> float (B, 3, S, S), ImageNet-normalised, channels-last: what the backbone eats."""
    x = batch_u8.float().div_(255.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if normalize:
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x.contiguous(memory_format=torch.channels_last)


def augment_batch(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    """Random flip, rotation and resized crop as one affine warp per image (one grid_sample for the batch)."""
    if not aug.any:
        return x
    b = x.shape[0]
    rand = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731 (CPU generator: same numbers on any device)
    angle = (rand(b) * 2 - 1) * math.radians(aug.rotation)
    area = aug.crop_scale + rand(b) * (1 - aug.crop_scale)
    # aspect ratio in [3/4, 4/3] as torchvision's RandomResizedCrop; crop_scale 1 means no crop at all
    log_ratio = (rand(b) * 2 - 1) * (math.log(4 / 3) if aug.crop_scale < 1.0 else 0.0)
    ratio = torch.exp(log_ratio)
    sx = torch.sqrt(area * ratio).clamp(max=1.0)
    sy = torch.sqrt(area / ratio).clamp(max=1.0)
    tx = (rand(b) * 2 - 1) * (1 - sx)
    ty = (rand(b) * 2 - 1) * (1 - sy)
    flip = torch.where(rand(b) < 0.5, -1.0, 1.0) if aug.flip else torch.ones(b)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos * sx * flip, -sin * sy, tx], 1),
                         torch.stack([sin * sx * flip, cos * sy, ty], 1)], 1).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return out.contiguous(memory_format=torch.channels_last)


@dataclass
class Split:
    """One split held in memory: uint8 images, class indices and image ids in the same order."""

    images: torch.Tensor
    y: torch.Tensor
    image_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.y)
