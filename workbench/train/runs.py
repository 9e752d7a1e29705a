"""A run's model loaded for evaluation, prediction, explanation and export (the run itself: `workbench.run.Run`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from PIL import Image
from torch import nn

from workbench.errors import WorkbenchError
from workbench.run import Run
from workbench.store import Store
from workbench.train import data as D
from workbench.train.backbones import build_model, pick_device, place
from workbench.train.config import RunConfig
from workbench.train.weights import read_weights_file


@dataclass
class LoadedRun:
    """A run's model (eval mode, full backbone + head) and what is needed to feed it."""

    run: Run
    config: RunConfig
    model: nn.Module
    classes: list[str]
    device: torch.device
    channels: int = 3

    @property
    def run_dir(self) -> Path:
        """checkpoints/<run>/."""
        return self.run.folder

    @property
    def dataset_info(self) -> dict:
        """The run's dataset.json (classes, channels, the images it was trained on)."""
        return self.run.dataset_info

    def preprocess(self, images: list[Image.Image]) -> torch.Tensor:
        """Eval transform, the same as training used: resize to input size, grayscale as 3 channels, normalise."""
        if not images:
            raise WorkbenchError("No images to preprocess.")
        u8 = torch.stack([D.image_to_uint8(im, self.config.input_size, self.channels) for im in images])
        return D.to_input(u8.to(self.device), self.config.augment.normalize)

    def task_labels(self, store: Store) -> pd.DataFrame:
        """The run's dataset now, with its grouping and split: image_id, path, label, y, split."""
        df, classes = D.task_labels(store, self.config.dataset, self.config.grouping, self.config.split_seed)
        if classes != self.classes:
            raise WorkbenchError(f"Dataset {self.config.dataset!r} now gives classes {classes}, "
                                 f"the run was trained on {self.classes}.")
        return df[["image_id", "path", "label", "y", "split"]]

    def changed_images(self, store: Store) -> list[int]:
        """Image ids whose content, label or split differ from when the run was trained (empty: unchanged)."""
        then = {d["image_id"]: (d["sha256"], d["split"], d["label"]) for d in self.dataset_info.get("images", [])}
        df, _ = D.task_labels(store, self.config.dataset, self.config.grouping, self.config.split_seed)
        now = {int(r.image_id): (r.sha256, r.split, r.label) for r in df.itertuples()}
        return sorted(i for i in then.keys() | now.keys() if then.get(i) != now.get(i))


def load_run(run: Run, which: str = "best", device: str = "auto") -> LoadedRun:
    """Rebuild the run's model and load best.pt or last.pt (weights_only=True)."""
    ckpt = run.checkpoint(which)
    if not ckpt.is_file():
        raise WorkbenchError(f"Run {run.name!r} has no {which}.pt (did it finish an epoch?).")
    cfg, classes = run.config, run.classes
    model = build_model(cfg.backbone, len(classes), weights="none", stem=cfg.stem)
    state = read_weights_file(ckpt)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise WorkbenchError(f"{ckpt} does not fit {cfg.backbone}: {str(e).splitlines()[0]}")
    dev = pick_device(device)
    place(model, dev).eval()
    return LoadedRun(run, cfg, model, classes, dev, int(run.dataset_info.get("channels", 3)))
