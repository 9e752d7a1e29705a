"""Stems for tiny inputs: a pretrained backbone without its early downsampling, and the size of its last map.

A stride-32 backbone ends on a 1×1 map at 24–32 px, so its pooled features keep nothing of where things are and a
CAM of its last stage is blank. CIFAR-style ResNets use a stride-1 stem and no max-pool for 32 px inputs: the
"small" stem does the same to a pretrained backbone (a factor 4 less downsampling, so 24–28 px crops end on a map of
3×3 or 4×4). Only strides, a padding and a parameter-free pool change, so every pretrained weight still loads and a
checkpoint's state dict is the same whichever stem it was trained with.

`SMALL_STEMS` maps a timm architecture class to the function that removes its early downsampling (timm-style
registry): a family is added with `@small_stem("ClassName")`.
"""

from __future__ import annotations

import functools
from typing import Callable

import timm
import torch
from torch import nn

from workbench.errors import WorkbenchError
from workbench.train.config import MIN_MAP, STEMS, RunConfig

SMALL_STEMS: dict[str, Callable[[nn.Module], None]] = {}


def small_stem(*class_names: str) -> Callable[[Callable], Callable]:
    """Register a function that removes the early downsampling (a factor 4) of models of these timm classes."""
    def add(fn: Callable[[nn.Module], None]) -> Callable[[nn.Module], None]:
        for name in class_names:
            SMALL_STEMS[name] = fn
        return fn
    return add


@small_stem("ResNet")
def _resnet(model: nn.Module) -> None:
    # resnet18/34/50...: the 7x7 stride-2 conv1 (first conv of a deep stem) at stride 1, and no max-pool
    _stride_one(_first_strided(model.conv1))
    model.maxpool = nn.Identity()


@small_stem("EfficientNet", "MobileNetV3")
def _efficientnet(model: nn.Module) -> None:
    # EfficientNet(-Lite), MobileNetV2 (timm builds it as an EfficientNet), MobileNetV3: no max-pool, so the stem
    # conv and the first strided block after it
    _stride_one(model.conv_stem)
    _stride_one(_first_strided(model.blocks))


@small_stem("ConvNeXt")
def _convnext(model: nn.Module) -> None:
    # the 4x4 stride-4 "patchify" stem at stride 1 (padded: a 24 px input keeps 25 px, which ends on 3x3)
    _stride_one(_first_strided(model.stem))


def _first_strided(module: nn.Module) -> nn.Conv2d:
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and max(m.stride) > 1:
            return m
    raise WorkbenchError(f"No strided convolution in {type(module).__name__} to remove.")


def _stride_one(conv: nn.Conv2d) -> None:
    """Stride 1; a plain conv's padding then keeps the map's size (one pixel more for an even kernel)."""
    conv.stride = (1, 1)
    if type(conv) is nn.Conv2d and isinstance(conv.padding, tuple):  # timm's Conv2dSame pads itself per stride
        conv.padding = tuple((d * (k - 1) + 1) // 2 for k, d in zip(conv.kernel_size, conv.dilation))


def use_stem(model: nn.Module, stem: str, backbone: str = "") -> nn.Module:
    """`model` with the stem `stem` ("standard": unchanged; "small": early downsampling removed), in place."""
    if stem == "standard":
        return model
    if stem != "small":
        raise WorkbenchError(f"Stem {stem!r} must be resolved to standard or small first (see resolve_stem).")
    family = type(model).__name__
    if family not in SMALL_STEMS:
        raise WorkbenchError(_no_small_stem(backbone or family, family))
    SMALL_STEMS[family](model)
    return model


def _no_small_stem(backbone: str, family: str) -> str:
    return (f"No small stem for {backbone} ({family}): Workbench can remove the early downsampling of "
            f"{', '.join(sorted(SMALL_STEMS))} backbones (resnet18/34/50, efficientnet_lite0/b0, mobilenetv2/v3, "
            "convnext). Use --stem standard, or a larger input size.")


@functools.lru_cache(maxsize=256)
def last_map(backbone: str, stem: str, input_size: int) -> tuple[int, int] | None:
    """(height, width) of the backbone's last feature map at `input_size` px with `stem`, from a forward pass on
    the meta device (shapes only: no weights, no compute); None for a model without a 2-D map (a ViT) or one that
    cannot take that size."""
    with torch.device("meta"):
        model = timm.create_model(backbone, pretrained=False, num_classes=2)
        use_stem(model, stem, backbone)
        model.eval()
        try:
            out = model.forward_features(torch.empty(1, 3, input_size, input_size))
        except (RuntimeError, ValueError, AssertionError):
            return None
    return tuple(int(v) for v in out.shape[-2:]) if out.ndim == 4 else None


def resolve_stem(backbone: str, stem: str, input_size: int) -> str:
    """The stem a run is built with: "auto" becomes "small" when the standard stem's last map would be under 3×3 at
    `input_size` (or the input is too small for it) and the family has a small stem, else "standard"; an explicit
    choice is checked."""
    if stem not in STEMS:
        raise WorkbenchError(f"Unknown stem {stem!r}; choose one of {', '.join(STEMS)}.")
    family = family_of(backbone)
    if stem == "small" and family not in SMALL_STEMS:
        raise WorkbenchError(_no_small_stem(backbone, family))
    if stem != "auto":
        return stem
    if family not in SMALL_STEMS:
        return "standard"
    hw = last_map(backbone, "standard", int(input_size))  # None here: too small to run at all (ConvNeXt at 24 px)
    return "small" if hw is None or min(hw) < MIN_MAP else "standard"


def run_map(cfg: RunConfig) -> tuple[int, int] | None:
    """(height, width) of the last feature map a run was built with: its backbone at its input size with its stem
    resolved ("auto" is small at 32 px for EfficientNet: 4×4, where the standard stem's is 1×1); None when that
    cannot be built."""
    try:
        stem = resolve_stem(cfg.backbone, cfg.stem, int(cfg.input_size))
    except WorkbenchError:
        return None
    return last_map(cfg.backbone, stem, int(cfg.input_size))


def map_warning(cfg: RunConfig) -> str | None:
    """For feature extraction whose last feature map is under 3×3 at the run's input size: a warning saying so
    and what to do; None otherwise (fine-tuning, a larger map, or a backbone timm does not know)."""
    if cfg.method != "feature_extract" or not timm.is_model(cfg.backbone):
        return None
    try:
        stem = resolve_stem(cfg.backbone, cfg.stem, int(cfg.input_size))
    except WorkbenchError:
        return None  # a stem this backbone cannot have: the run is refused with its own message
    hw = last_map(cfg.backbone, stem, int(cfg.input_size))
    if hw is None or min(hw) >= MIN_MAP:
        return None
    fix = "a larger input size" if stem == "small" or family_of(cfg.backbone) not in SMALL_STEMS \
        else "stem small (or auto), or a larger input size"
    return (f"Feature extraction on a {hw[0]}×{hw[1]} last feature map ({cfg.backbone}, {stem} stem, "
            f"{cfg.input_size} px): the frozen embedding pools almost no spatial detail and is usually far weaker "
            f"than at {MIN_MAP}×{MIN_MAP} or more. Use {fix}.")


@functools.lru_cache(maxsize=64)
def family_of(backbone: str) -> str:
    """The timm class name of a backbone (its family), built on the meta device."""
    with torch.device("meta"):
        return type(timm.create_model(backbone, pretrained=False, num_classes=2)).__name__


def map_summary(cfg: RunConfig) -> str:
    """One line on the run's last feature map (size, stem, how it was chosen), then map_warning's when there is one;
    "" when the backbone, size or stem cannot be built (the run's own checks say why)."""
    if not timm.is_model(cfg.backbone) or int(cfg.input_size) < 8:
        return ""
    try:
        stem = resolve_stem(cfg.backbone, cfg.stem, int(cfg.input_size))
    except WorkbenchError as e:
        return str(e)
    hw = last_map(cfg.backbone, stem, int(cfg.input_size))
    if hw is None:
        return f"{cfg.backbone} has no 2-D feature map at {cfg.input_size} px."
    how = " (chosen by auto)" if cfg.stem == "auto" else ""
    line = f"Last feature map {hw[0]}×{hw[1]} at {cfg.input_size} px: {cfg.backbone}, {stem} stem{how}."
    warning = map_warning(cfg)
    return f"{line}\n\n⚠️ {warning}" if warning else line
