"""Detection data: a set's boxes as a task (one annotator's boxes per image, classes, seeded split), and the
images with their boxes as tensors, augmented so the boxes move with the pixels (torchvision.transforms.v2).

Boxes come from the store (`Store.boxes`: x, y top-left, w, h, in the image's own pixels); every image in
`Store.boxed_images` joins the task, an image marked as holding no objects too (a negative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from workbench.data import splits as data_splits
from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.store import Store
from workbench.train.config import Augment
from workbench.train.data import task_classes, to_task

TASK_BOX_COLUMNS = ["image_id", "label", "x", "y", "w", "h"]  # of Store.boxes


@dataclass
class DetectionTask:
    """What a detection run trains on: `images` (image_id, path, sha256, width, height, split: every boxed image,
    those marked "no objects" too), `boxes` (image_id, label, x, y, w, h, cls: the class index) and the classes."""

    images: pd.DataFrame
    boxes: pd.DataFrame
    classes: list[str]

    def split(self, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The images of split `name` and their boxes."""
        imgs = self.images[self.images.split == name].reset_index(drop=True)
        return imgs, self.boxes[self.boxes.image_id.isin(imgs.image_id)]

    def truths(self, image_ids: list[int]) -> list[dict]:
        """The true boxes (x1, y1, x2, y2, image pixels) and class indices of each image, for the metrics."""
        size = self.images.set_index("image_id")[["height", "width"]]
        by_image = {int(i): g for i, g in self.boxes.groupby("image_id")}
        out = []
        for i in image_ids:
            t = target_of(by_image.get(int(i), self.boxes.iloc[:0]), tuple(int(v) for v in size.loc[i]))
            out.append({"boxes": t["boxes"].as_subclass(torch.Tensor), "labels": t["labels"]})
        return out


def strata(images: pd.Series, boxes: pd.DataFrame) -> pd.Series:
    """Per image (ids in `images`) its most frequent box class, '' for an image without boxes: what the split
    stratifies by, so that every class reaches train, val and test."""
    top = (boxes.groupby(["image_id", "label"]).size().reset_index(name="n")
           .sort_values(["image_id", "n", "label"], ascending=[True, False, True]).drop_duplicates("image_id")
           .set_index("image_id")["label"])
    return pd.Series(top.reindex(images.to_numpy()).fillna("").to_numpy(), index=images.to_numpy(), name="label")


def detection_task(store: Store, dataset: str, grouping: dict[str, str] | None, seed: int) -> DetectionTask:
    """The set's boxed images (Store.boxed_images: each with the boxes of the annotator who changed them last) with
    their split (the store's seeded, sticky split, stratified by each image's main class) and boxes, the grouping
    applied to the box classes."""
    classes = task_classes(store.box_classes(dataset), grouping)
    boxes = store.boxes(dataset)[TASK_BOX_COLUMNS].copy()
    boxes["label"] = to_task(boxes["label"], grouping)
    boxes["cls"] = boxes["label"].map({c: i for i, c in enumerate(classes)}).astype(int)
    boxed = store.boxed_images(dataset)
    split = data_splits.splits(store, dataset, seed, labels=strata(boxed.image_id, boxes))
    imgs = store.images(dataset)[["image_id", "path", "sha256", "width", "height"]]
    imgs = imgs.merge(split[["image_id", "split"]], on="image_id").sort_values("image_id").reset_index(drop=True)
    return DetectionTask(imgs, boxes.reset_index(drop=True), classes)


def check_trainable(task: DetectionTask) -> None:
    """Refuse a detection task that cannot train: no class, an empty train or val split, no box in train."""
    if not task.classes:
        raise WorkbenchError("Detection needs at least one box class; add the classes your boxes name.")
    for name in ("train", "val"):
        if task.split(name)[0].empty:
            raise WorkbenchError(f"Too few boxed images for a {name} split ({len(task.images)} boxed in all). "
                                 "Box at least a few dozen images so that train and val both get some.")
    if task.split("train")[1].empty:
        raise WorkbenchError("No boxes in the train split: box the objects of more images.")


# -- images and targets ------------------------------------------------------------------------------------
def target_of(boxes: pd.DataFrame, canvas: tuple[int, int], offset: int = 0) -> dict:
    """One image's boxes as torchvision wants them: boxes (K, 4) x1, y1, x2, y2 as BoundingBoxes on the image's
    (height, width) canvas, and labels (class index + `offset`: 1 where 0 is the background)."""
    xyxy = boxes[["x", "y", "w", "h"]].to_numpy(dtype=np.float32).reshape(-1, 4).copy()
    xyxy[:, 2:] += xyxy[:, :2]
    return {"boxes": tv_tensors.BoundingBoxes(torch.from_numpy(xyxy), format="XYXY", canvas_size=canvas),
            "labels": torch.as_tensor(boxes["cls"].to_numpy(dtype=np.int64) + offset)}


def read_image(path: str) -> tv_tensors.Image:
    """An image file as a uint8 (3, H, W) tensor (grey images as 3 equal channels)."""
    img = load_image(path).convert("RGB")
    return tv_tensors.Image(torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1))


def eval_transform(size: int) -> v2.Transform:
    """The longer side resized to `size` (boxes with it), pixels as floats in [0, 1]: evaluation and prediction."""
    return v2.Compose([v2.Resize(None, max_size=size), v2.ToDtype(torch.float32, scale=True)])


def train_transform(size: int, aug: Augment) -> v2.Transform:
    """Augmentations that move the boxes with the image: horizontal flip, rotation, and a zoom in or out by up to
    1/sqrt(crop_scale) (crop_scale 0.8: ±12%) with a small shift; then as `eval_transform`. Boxes that leave the
    image are clipped; those left under 2 px are dropped."""
    steps: list[v2.Transform] = []
    if aug.flip:
        steps.append(v2.RandomHorizontalFlip())
    zoom = 1 / math.sqrt(aug.crop_scale)
    if aug.rotation > 0 or zoom > 1:
        steps.append(v2.RandomAffine(degrees=aug.rotation, translate=(0.05, 0.05) if zoom > 1 else None,
                                     scale=(1 / zoom, zoom) if zoom > 1 else None))
    steps += [v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes(min_size=2)]
    return v2.Compose([*steps, eval_transform(size)])


class BoxedImages(torch.utils.data.Dataset):
    """The images of one split with their targets, read from disk on each access (memory stays flat at any size)."""

    def __init__(self, images: pd.DataFrame, boxes: pd.DataFrame, transform: v2.Transform, offset: int = 0):
        self.images = images.reset_index(drop=True)
        self.by_image = {int(i): g for i, g in boxes.groupby("image_id")}
        self.empty = boxes.iloc[:0]
        self.transform, self.offset = transform, offset

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict]:
        row = self.images.iloc[i]
        img = read_image(row.path)
        target = target_of(self.by_image.get(int(row.image_id), self.empty), tuple(img.shape[-2:]), self.offset)
        img, target = self.transform(img, target)
        return img.as_subclass(torch.Tensor), {"boxes": target["boxes"].as_subclass(torch.Tensor),
                                               "labels": target["labels"], "image_id": int(row.image_id)}


def batches(order: list[int], size: int) -> list[list[int]]:
    """`order` cut into consecutive batches of `size` (the last may be shorter)."""
    return [order[i:i + size] for i in range(0, len(order), size)]
