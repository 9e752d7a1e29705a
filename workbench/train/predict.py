"""Class probabilities from a loaded run for image files or PIL images."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from workbench.data.imageio import load_image
from workbench.data.sharded import Sharded, map_to_shards
from workbench.train import data as D
from workbench.train.embedding import embed
from workbench.train.runs import LoadedRun


@torch.no_grad()
def predict(loaded: LoadedRun, paths_or_images: list, batch_size: int = 256) -> np.ndarray:
    """(N, C) softmax probabilities in the run's class order; files are read a batch at a time."""
    model = loaded.model
    if model.training:  # eval() visits every module, ~3 ms on efficientnet_lite0: a live stream calls this per frame
        model.eval()
    out = []
    for i in range(0, len(paths_or_images), batch_size):
        chunk = [x if isinstance(x, Image.Image) else load_image(Path(x)) for x in paths_or_images[i:i + batch_size]]
        out.append(model(loaded.preprocess(chunk)).softmax(1).double().cpu().numpy())
    if not out:
        return np.zeros((0, len(loaded.classes)))
    return np.concatenate(out)


def _inputs(loaded: LoadedRun, u8: torch.Tensor) -> torch.Tensor:
    return D.to_input(u8.to(loaded.device), loaded.config.augment.normalize)


def predict_to_shards(loaded: LoadedRun, files: Sequence[str | Path], out_dir: Path, **kw) -> Sharded:
    """Probabilities of a big set of image files into memory-mapped shards (DataLoader workers decode)."""
    model = loaded.model.eval()
    return map_to_shards(lambda u8: model(_inputs(loaded, u8)).softmax(1), files, out_dir,
                         size=loaded.config.input_size, channels=loaded.channels, **kw)


def embed_to_shards(loaded: LoadedRun, files: Sequence[str | Path], out_dir: Path, **kw) -> Sharded:
    """Pooled backbone features (what the head sees) of a big set of image files into memory-mapped shards."""
    normalize = loaded.config.augment.normalize
    return map_to_shards(lambda u8: embed(loaded.model, u8, loaded.device, normalize, batch_size=len(u8)),
                         files, out_dir, size=loaded.config.input_size, channels=loaded.channels, **kw)
