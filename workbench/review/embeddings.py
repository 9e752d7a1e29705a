"""Backbone embeddings of a run's model: the input of its final linear layer (pooled features)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from workbench.data.imageio import load_image
from workbench.train.data import image_to_uint8
from workbench.train.embedding import embed as embed_images, feature_dim


def embed(loaded, paths: Sequence[str], batch_size: int = 128,
          done: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, D) float32 features for image files, through the run's eval transform; files are read a batch at a time.
    `done(n, N)`: called after each batch with the images embedded so far (a progress bar)."""
    cfg, feats = loaded.config, []
    for start in range(0, len(paths), batch_size):
        u8 = torch.stack([image_to_uint8(load_image(p), cfg.input_size, loaded.channels)
                          for p in paths[start:start + batch_size]])
        feats.append(embed_images(loaded.model, u8, loaded.device, cfg.augment.normalize, batch_size).cpu())
        if done is not None:
            done(min(start + batch_size, len(paths)), len(paths))
    if not feats:
        return np.zeros((0, feature_dim(loaded.model)), np.float32)
    return torch.cat(feats).numpy().astype(np.float32)
