"""The one embedding function: images in, a backbone's pooled features (what its classifier sees) out.

Every caller goes through `embed`: feature-extraction training, the linear-probe baseline, label suggestions
(labeling.features, with its cache), label-issue review (review.embeddings) and big sets into shards
(train.predict.embed_to_shards).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from workbench.train.data import to_input


@torch.no_grad()
def embed(model: nn.Module, images_u8: torch.Tensor, device: torch.device | str | None = None,
          normalize: bool = True, batch_size: int = 256,
          done: Callable[[int], None] | None = None) -> torch.Tensor:
    """(N, D) pooled pre-logits features of uint8 images (N, 1|3, S, S), `batch_size` at a time, in eval mode.

    The result stays on `device` (default: the model's own); the model's train/eval mode is restored after.
    `done(n)`: called after each batch with the number of images embedded so far (a job's progress).
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    try:
        for i in range(0, len(images_u8), batch_size):
            x = to_input(images_u8[i:i + batch_size].to(device), normalize)
            out.append(model.forward_head(model.forward_features(x), pre_logits=True))
            if done is not None:
                done(min(i + batch_size, len(images_u8)))
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros((0, feature_dim(model)), device=device)


def feature_dim(model: nn.Module) -> int:
    """Width of the embedding: the input of the last linear layer (the classifier), else timm's num_features."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[-1].in_features if linears else int(model.num_features)
