"""Which layer a CAM hooks: chosen per architecture, overridable by a dotted module name."""

from __future__ import annotations

import torch.nn as nn

from workbench.errors import WorkbenchError

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

