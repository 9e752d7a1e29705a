"""Which layer a CAM hooks: chosen per architecture, overridable by a dotted module name."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
import torch.nn as nn

from workbench.errors import WorkbenchError

MIN_MAP = 3  # a CAM needs at least 3x3 cells to say where; a 1x1 map is constant and normalises to blank
FINE_MAP = 7  # under 7x7 cells (ImageNet's last map at 224 px) a map is coarse: each cell covers a large patch

# architecture class name -> path (below the backbone) of the last spatial feature map.
# MobileNetV3's conv_head runs after global pooling (1x1), so its last block is the right one.
TARGET_LAYERS: dict[str, str] = {
    "ResNet": "layer4.-1",           # timm and torchvision
    "EfficientNet": "conv_head",     # timm EfficientNet, EfficientNet-Lite, MobileNetV2
    "MobileNetV3": "blocks.-1",      # timm
    "MobileNetV2": "features.-1",    # torchvision
}


def _get(root: nn.Module, dotted: str) -> nn.Module:
    module = root
    for part in dotted.split("."):
        if part.lstrip("-").isdigit():
            module = module[int(part)]  # type: ignore[index]
        else:
            module = getattr(module, part)
    return module


def valid_layer_names(model: nn.Module) -> list[str]:
    """Names a user may pass as target layer: modules whose output can be a feature map."""
    return [name for name, m in model.named_modules() if name and _spatial(m)]


def _spatial(m: nn.Module) -> bool:
    return isinstance(m, nn.BatchNorm2d) or any(isinstance(c, nn.Conv2d) for c in m.modules())


def _valid_hint(model: nn.Module) -> str:
    names = valid_layer_names(model)
    more = f" (last 40 of {len(names)})" if len(names) > 40 else ""
    return f"Valid layer names{more}: {', '.join(names[-40:])}."


def _find_backbone(model: nn.Module) -> tuple[str, nn.Module] | None:
    """The first sub-module (or the model) whose class we know, so wrapped backbones work too."""
    for name, m in model.named_modules():
        if type(m).__name__ in TARGET_LAYERS:
            return name, m
    return None


def target_layer(model: nn.Module, layer: str | None = None) -> tuple[str, nn.Module]:
    """(dotted name, module) of the CAM target layer: `layer` if given, else the architecture's default."""
    if layer:
        modules = dict(model.named_modules())
        try:
            module = modules[layer] if layer in modules else _get(model, layer)
        except (AttributeError, IndexError, TypeError, KeyError):
            raise WorkbenchError(f"No layer {layer!r} in {type(model).__name__}. {_valid_hint(model)}") from None
        if not _spatial(module):
            raise WorkbenchError(f"Layer {layer!r} ({type(module).__name__}) does not output a feature map, so it "
                                 f"cannot be explained. {_valid_hint(model)}")
        return layer, module
    found = _find_backbone(model)
    if found is None:
        raise WorkbenchError(
            f"No default CAM layer for {type(model).__name__} (known: {', '.join(TARGET_LAYERS)}); "
            "pass a layer name, e.g. one of: " + ", ".join(valid_layer_names(model)[-10:]))
    prefix, backbone = found
    rel = TARGET_LAYERS[type(backbone).__name__]
    module = _get(backbone, rel)
    # report the resolved name (layer4.1, not layer4.-1) so it can be passed back as an override
    full = next(n for n, m in model.named_modules() if m is module)
    return full, module


@dataclass(frozen=True)
class ChosenLayer:
    """The layer a CAM hooks at one input size, and why, in words a user can act on."""

    name: str
    map_hw: tuple[int, int]
    note: str = ""  # set when the architecture's default was replaced

    @property
    def coarse(self) -> bool:
        """A map under 7x7: it can say roughly where, not which detail."""
        return min(self.map_hw) < FINE_MAP

    def describe(self) -> str:
        """'layer layer2 (3x3 map, coarse)', with the note on why when the default was replaced."""
        where = f"layer {self.name} ({self.map_hw[0]}x{self.map_hw[1]} map{', coarse' if self.coarse else ''})"
        return f"{where}; {self.note}" if self.note else where


_CHOSEN: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()


def choose_layer(model: nn.Module, input_hw: tuple[int, int],
                 layer: str | None = None) -> tuple[ChosenLayer, nn.Module]:
    """The CAM layer at `input_hw`: `layer` if given, else the default, or, when the default's map is smaller
    than 3x3 (a 24 px crop at stride 32), the deepest block whose map is at least 3x3."""
    name, module = target_layer(model, layer)
    key = (name if layer else None, tuple(input_hw))
    cached = _CHOSEN.setdefault(model, {}).get(key)
    if cached is not None:
        return cached, dict(model.named_modules())[cached.name]
    shapes = _map_sizes(model, input_hw)
    chosen = ChosenLayer(name, shapes.get(name, (0, 0)))
    if not layer and min(chosen.map_hw) < MIN_MAP:
        found = _find_backbone(model)
        prefix = f"{found[0]}." if found and found[0] else ""
        modules = dict(model.named_modules())
        deeper = [(n, hw) for n, hw in shapes.items() if min(hw) >= MIN_MAP and _is_block(n, modules[n], prefix)]
        if not deeper:
            raise WorkbenchError(
                f"No layer of {type(model).__name__} keeps a {MIN_MAP}x{MIN_MAP} feature map at "
                f"{input_hw[0]}x{input_hw[1]} input, so a CAM would be blank. Train at a larger input_size.")
        n, hw = deeper[-1]
        chosen = ChosenLayer(n, hw, f"the default {name} has a {chosen.map_hw[0]}x{chosen.map_hw[1]} map at "
                                    f"{input_hw[0]}x{input_hw[1]} input")
        module = modules[n]
    _CHOSEN[model][key] = chosen
    return chosen, module


def _is_block(name: str, module: nn.Module, prefix: str) -> bool:
    """A stage or block of the backbone (layer3, layer2.1, blocks.4), not a bare conv or norm (whose output
    the next activation may overwrite in place)."""
    return (name.startswith(prefix) and name[len(prefix):].count(".") <= 1
            and not isinstance(module, (nn.Conv2d, nn.BatchNorm2d)))


def _map_sizes(model: nn.Module, input_hw: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Output map size of every spatial module, in the order they finish, from one forward pass."""
    sizes: dict[str, tuple[int, int]] = {}

    def hook(name):
        def record(_m, _i, out):
            if isinstance(out, torch.Tensor) and out.ndim == 4:
                sizes[name] = tuple(out.shape[-2:])
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n and _spatial(m)]
    was_training = model.training
    try:
        p = next(model.parameters())
        with torch.no_grad():
            model.eval()  # a probe must not move BatchNorm's running statistics
            model(torch.zeros(1, 3, *input_hw, device=p.device, dtype=p.dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return sizes
