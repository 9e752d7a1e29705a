"""Backbone embeddings of a run's model: the input of its final linear layer (pooled features)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError


def _head(model: nn.Module) -> nn.Linear:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise WorkbenchError(f"{type(model).__name__} has no linear classifier layer to take embeddings from.")
    return linears[-1]


@torch.no_grad()
def embed(loaded, paths: Sequence[str], batch_size: int = 128) -> np.ndarray:
    """(N, D) float32 features for image files, through the run's eval transform."""
    model, feats = loaded.model, []
    handle = _head(model).register_forward_hook(lambda m, inp, out: feats.append(inp[0].detach().flatten(1).cpu()))
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(paths), batch_size):
            images = [load_image(p) for p in paths[start:start + batch_size]]
            model(loaded.preprocess(images).to(loaded.device))
    finally:
        handle.remove()
        model.train(was_training)
    if not feats:
        return np.zeros((0, _head(model).in_features), np.float32)
    return torch.cat(feats).numpy().astype(np.float32)
