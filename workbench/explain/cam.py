"""Class activation maps for a batch of images, and overlays a reviewer can read at 24x24."""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from workbench.errors import WorkbenchError
from workbench.explain.layers import ChosenLayer, choose_layer
from workbench.explain.methods import method_class
from workbench.train.runs import LoadedRun

# CAMs work by hooking a model's layer and toggling requires_grad: two threads doing that on one model
# (two browser sessions) would read each other's activations. One lock serialises them (CPU-bound anyway).
_HOOKS = threading.Lock()


def compute_cams(model: nn.Module, inputs: torch.Tensor, targets: int | Sequence[int] | None = None,
                 method: str = "gradcam", layer: str | None = None, batch_size: int = 64) -> np.ndarray:
    """CAMs (N, H, W) in [0, 1] at the input's spatial size, for class `targets` (one per image, one for all,
    or None for the predicted class). Batched: one forward/backward per `batch_size` images."""
    if inputs.ndim != 4:
        raise WorkbenchError(f"CAM input must be a batch (N, C, H, W); got shape {tuple(inputs.shape)}.")
    n = len(inputs)
    if targets is None or isinstance(targets, (int, np.integer)):
        per_image = [None if targets is None else int(targets)] * n
    else:
        per_image = [int(t) for t in targets]
        if len(per_image) != n:
            raise WorkbenchError(f"{len(per_image)} CAM targets for {n} images.")
    cam_cls = method_class(method)
    with _HOOKS:
        chosen, module = choose_layer(model, tuple(inputs.shape[-2:]), layer)
        return _compute(model, module, inputs, per_image, cam_cls, chosen.name, batch_size)


def _compute(model: nn.Module, module: nn.Module, inputs: torch.Tensor, per_image: list, cam_cls, layer_name: str,
             batch_size: int) -> np.ndarray:
    n = len(inputs)
    device = next(model.parameters()).device
    was_training = model.training
    # Only gradients at the target layer are needed: freeze the weights and start the autograd graph
    # at the layer's output, so backward runs through the head alone (several times faster on CPU).
    # This hook is registered before grad-cam's, so theirs see (and hook) the re-rooted output.
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    root = module.register_forward_hook(lambda m, i, o: o.detach().requires_grad_(True))
    cam = cam_cls(model=model, target_layers=[module])
    out = []
    try:
        # Not `with cam:` (its __exit__ swallows IndexError); gradients on even inside a caller's no_grad.
        with torch.enable_grad():
            for start in range(0, n, batch_size):
                x = inputs[start:start + batch_size].to(device)
                t = per_image[start:start + batch_size]
                tgts = None if any(c is None for c in t) else [ClassifierOutputTarget(c) for c in t]
                if tgts is not None:
                    n_out = _n_outputs(model, x[:1])
                    bad = [c for c in t if not 0 <= c < n_out]
                    if bad:
                        raise WorkbenchError(f"Class index {bad[0]} out of range: the model has {n_out} classes.")
                out.append(cam(input_tensor=x, targets=tgts))
                if start == 0:
                    _check_resolution(cam, layer_name, tuple(x.shape[-2:]))
    finally:
        cam.activations_and_grads.release()
        root.remove()
        for p in frozen:
            p.requires_grad_(True)
        model.train(was_training)
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, *inputs.shape[-2:]), np.float32)


def _check_resolution(cam, layer_name: str, input_hw: tuple[int, int]) -> None:
    # a 1x1 feature map (a 24x24 crop at stride 32) gives a constant CAM that normalises to all zeros
    acts = cam.activations_and_grads.activations
    if acts and tuple(acts[0].shape[-2:]) == (1, 1):
        raise WorkbenchError(
            f"Layer {layer_name!r} has a 1x1 feature map at {input_hw[0]}x{input_hw[1]} input, so its CAM would be "
            "blank. Choose an earlier layer, or leave the layer empty to have one chosen.")


def explain_images(loaded: LoadedRun, images: Sequence[Image.Image], targets: int | Sequence[int] | None = None,
                   method: str = "gradcam", layer: str | None = None, batch_size: int = 64) -> np.ndarray:
    """CAMs for PIL images through a loaded run's eval transform (which upscales small crops to its input size)."""
    return compute_cams(loaded.model, loaded.preprocess(list(images)), targets, method, layer, batch_size)


def run_layer(loaded: LoadedRun, layer: str | None = None) -> ChosenLayer:
    """The layer CAMs of a loaded run use at its input size (the default, or a deeper-resolved one), for display."""
    size = int(loaded.config.input_size)
    with _HOOKS:
        return choose_layer(loaded.model, (size, size), layer)[0]


def _n_outputs(model: nn.Module, x: torch.Tensor) -> int:
    head = getattr(model, "num_classes", None)
    if isinstance(head, int) and head > 0:
        return head
    with torch.no_grad():
        return int(model(x).shape[-1])


def overlay(image: Image.Image, cam: np.ndarray, size: int = 192, image_weight: float = 0.5) -> Image.Image:
    """The CAM as a colour heatmap over the image, both scaled to `size` px on the long side.

    The image is upscaled with nearest-neighbour so a 24x24 crop stays sharp; the (already smooth)
    map is resized bilinearly so its colours do not block up.
    """
    w, h = image.size
    scale = size / max(w, h)
    out_size = (max(1, round(w * scale)), max(1, round(h * scale)))
    rgb = np.asarray(image.convert("RGB").resize(out_size, Image.NEAREST), dtype=np.float32) / 255.0
    heat = Image.fromarray(np.clip(cam * 255, 0, 255).astype(np.uint8)).resize(out_size, Image.BILINEAR)
    mask = np.asarray(heat, dtype=np.float32) / 255.0
    return Image.fromarray(show_cam_on_image(rgb, mask, use_rgb=True, image_weight=image_weight))
