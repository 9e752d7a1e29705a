"""Class probabilities from a loaded run for image files or PIL images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from workbench.data.imageio import load_image
from workbench.train.runs import LoadedRun


@torch.no_grad()
def predict(loaded: LoadedRun, paths_or_images: list, batch_size: int = 256) -> np.ndarray:
    """(N, C) softmax probabilities in the run's class order; files are read a batch at a time."""
    model = loaded.model.eval()
    out = []
    for i in range(0, len(paths_or_images), batch_size):
        chunk = [x if isinstance(x, Image.Image) else load_image(Path(x)) for x in paths_or_images[i:i + batch_size]]
        out.append(model(loaded.preprocess(chunk)).softmax(1).double().cpu().numpy())
    if not out:
        return np.zeros((0, len(loaded.classes)))
    return np.concatenate(out)
