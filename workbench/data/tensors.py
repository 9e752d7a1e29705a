"""Images as uint8 tensors (channels, size, size): the one resize and channel rule that training, prediction,
embeddings and shards all use, so a reloaded run sees exactly the pixels it was trained on."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def image_to_uint8(img: Image.Image, size: int, channels: int) -> torch.Tensor:
    """One PIL image -> uint8 tensor (channels, size, size); grayscale becomes 3 equal channels when asked."""
    img = img.convert("RGB" if channels == 3 else "L")
    if img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    t = torch.from_numpy(arr.copy())
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()
