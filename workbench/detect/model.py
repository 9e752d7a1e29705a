"""Detectors: a torchvision detection head on a timm backbone's feature maps through a feature pyramid.

Every torchvision `weights=` / `weights_backbone=` option downloads, so nothing here uses them: the backbone is
`timm.create_model(..., features_only=True)` given the weights of `train.backbones.build_model` (the bundled
offline EfficientNet-Lite0 by default), and `torchvision.ops.FeaturePyramidNetwork` turns its strides 8, 16 and
32 into one width. A registry maps each detector's name to a builder, as timm's does for backbones.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import timm
import torch
from torch import nn
from torchvision import tv_tensors
from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from workbench.detect.data import eval_transform
from workbench.errors import WorkbenchError
from workbench.run import Run
from workbench.train.backbones import build_model, check_backbone, pick_device, place
from workbench.train.config import RunConfig
from workbench.train.data import IMAGENET_MEAN, IMAGENET_STD
from workbench.train.weights import read_weights_file

FPN_CHANNELS = 64  # 256 (torchvision's) makes the heads' convs at stride 8 cost ~10x the whole backbone on CPU
OUT_INDICES = (2, 3, 4)  # strides 8, 16, 32: objects from ~16 px to the whole image
SCORE_THRESH = 0.05  # boxes kept for evaluation (mAP needs the low-scoring ones); display filters higher


class TimmFPN(nn.Module):
    """A timm backbone's feature maps (`features_only`) through a feature pyramid: what torchvision detectors call
    a backbone (an `out_channels` attribute, a dict of maps). `pool`: an extra max-pooled level (Faster R-CNN's RPN)."""

    def __init__(self, backbone: str, weights: str, pool: bool = False):
        super().__init__()
        self.body = timm.create_model(backbone, features_only=True, out_indices=OUT_INDICES, pretrained=False)
        if weights != "none":
            _load_features(self.body, build_model(backbone, 1000, weights))
        self.fpn = FeaturePyramidNetwork(self.body.feature_info.channels(), FPN_CHANNELS,
                                         extra_blocks=LastLevelMaxPool() if pool else None)
        self.out_channels = FPN_CHANNELS

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(self.body(x))))

    def train(self, mode: bool = True) -> TimmFPN:
        """As nn.Module.train, but the backbone's BatchNorm layers keep their pretrained statistics: a detection
        batch of a few images is too small to estimate them (torchvision freezes them the same way)."""
        super().train(mode)
        for m in self.body.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        return self


def _load_features(body: nn.Module, full: nn.Module) -> None:
    """The classification model's weights into its features_only twin (same key names, minus the head)."""
    result = body.load_state_dict(full.state_dict(), strict=False)
    if result.missing_keys:
        raise WorkbenchError(f"The backbone's weights leave {len(result.missing_keys)} feature tensors unset "
                             f"({', '.join(result.missing_keys[:4])} ...).")


Builder = Callable[[TimmFPN, int, int], nn.Module]
DETECTORS: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    """Register a detector builder under `name` (as timm's @register_model)."""
    def add(fn: Builder) -> Builder:
        DETECTORS[name] = fn
        return fn
    return add


def _common(size: int) -> dict:
    # inputs come resized already (longer side = size); min_size=max_size=size makes torchvision's transform a no-op
    return dict(min_size=size, max_size=size, image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD))


@register("fcos")
def fcos(backbone: TimmFPN, num_classes: int, size: int) -> nn.Module:
    """FCOS: anchor-free, one location per feature cell (torchvision's; its head's convs at FPN_CHANNELS)."""
    anchors = AnchorGenerator(tuple((8 * 2 ** i,) for i in range(len(OUT_INDICES))), ((1.0,),) * len(OUT_INDICES))
    head = FCOSHead(backbone.out_channels, 1, num_classes, num_convs=2)
    # torchvision starts the box distances at 0 (behind a ReLU): boxes of a point, whose IoU has next to no gradient;
    # with a head this narrow the regression could die there (val mAP stayed 0.0 for 5 epochs on dense scenes).
    # 2 anchor sizes each way is a 16-64 px box at strides 8-32: the middle of what each level is assigned.
    nn.init.constant_(head.regression_head.bbox_reg.bias, 2.0)
    return FCOS(backbone, num_classes, anchor_generator=anchors, head=head, score_thresh=SCORE_THRESH,
                detections_per_img=100, **_common(size))


@register("retinanet")
def retinanet(backbone: TimmFPN, num_classes: int, size: int) -> nn.Module:
    """RetinaNet: 9 anchors per cell (3 sizes × 3 ratios) from 16 px at stride 8, focal loss."""
    sizes = tuple(tuple(int(s * 2 ** (k / 3)) for k in range(3)) for s in (16, 32, 64))
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    head = RetinaNetHead(backbone.out_channels, anchors.num_anchors_per_location()[0], num_classes,
                         norm_layer=lambda c: nn.GroupNorm(16, c))
    return RetinaNet(backbone, num_classes, anchor_generator=anchors, head=head, score_thresh=SCORE_THRESH,
                     detections_per_img=100, **_common(size))


@register("fasterrcnn")
def fasterrcnn(backbone: TimmFPN, num_classes: int, size: int) -> nn.Module:
    """Faster R-CNN: a region proposal network, then RoI-aligned boxes classified (background counts as a class)."""
    sizes = ((16,), (32,), (64,), (128,))  # one size per level: P3, P4, P5 and the pooled P6
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    pool = MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=2)
    head = TwoMLPHead(backbone.out_channels * 7 * 7, 256)  # torchvision's 1024-wide head is 4x the compute
    return FasterRCNN(backbone, None, rpn_anchor_generator=anchors, box_roi_pool=pool, box_head=head,
                      box_predictor=FastRCNNPredictor(256, num_classes + 1), box_score_thresh=SCORE_THRESH,
                      rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300, rpn_pre_nms_top_n_test=300,
                      rpn_post_nms_top_n_test=150, box_batch_size_per_image=128, **_common(size))


LABEL_OFFSET = {"fasterrcnn": 1}  # class k is label k + offset in the detector's targets (0: background)


def build_detector(name: str, backbone: str, num_classes: int, size: int, weights: str = "offline") -> nn.Module:
    """Detector `name` (see DETECTORS) for `num_classes` classes on `backbone` with `weights`, for inputs whose
    longer side is `size` pixels."""
    if name not in DETECTORS:
        raise WorkbenchError(f"Unknown detector {name!r}; choose one of {', '.join(DETECTORS)}.")
    check_backbone(backbone)
    return DETECTORS[name](TimmFPN(backbone, weights, pool=name == "fasterrcnn"), num_classes, size)


@dataclass
class LoadedDetector:
    """A detection run's model (eval mode) and what is needed to feed it and name its boxes."""

    config: RunConfig
    model: nn.Module
    classes: list[str]
    run_dir: Path
    device: torch.device
    dataset_info: dict = field(default_factory=dict)

    @property
    def offset(self) -> int:
        """The detector's label of class 0 (1 where label 0 is the background)."""
        return LABEL_OFFSET.get(self.config.detect.detector, 0)

    @torch.no_grad()
    def detect(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """Boxes (x1, y1, x2, y2 in each image's own pixels), scores and class indices for uint8 (3, H, W) images,
        resized as in training (longer side = the run's image size), best first, down to the detector's floor."""
        transform = eval_transform(self.config.detect.image_size)
        inputs = [transform(tv_tensors.Image(im)).to(self.device) for im in images]
        outs = self.model(inputs)
        results = []
        for im, x, out in zip(images, inputs, outs):
            scale = torch.tensor([im.shape[-1] / x.shape[-1], im.shape[-2] / x.shape[-2]] * 2)
            results.append({"boxes": out["boxes"].cpu() * scale, "scores": out["scores"].cpu(),
                            "labels": out["labels"].cpu() - self.offset})
        return results


def load_detector(run: Run | Path, which: str = "best", device: str = "auto") -> LoadedDetector:
    """Rebuild a detection run's model (a Run, or its folder) and load best.pt or last.pt (weights_only=True): the
    API the Predict tab, the box suggestions and video crop steps share."""
    run_dir = Path(run.folder if isinstance(run, Run) else run)
    if which not in ("best", "last"):
        raise WorkbenchError(f"which must be 'best' or 'last', got {which!r}.")
    cfg = RunConfig.load(run_dir / "config.json")
    info = json.loads((run_dir / "dataset.json").read_text()) if (run_dir / "dataset.json").is_file() else {}
    ckpt = run_dir / f"{which}.pt"
    if not ckpt.is_file():
        raise WorkbenchError(f"Run {run_dir.name!r} has no {which}.pt (did it finish an epoch?).")
    classes = info.get("classes") or []
    model = build_detector(cfg.detect.detector, cfg.backbone, len(classes), cfg.detect.image_size, weights="none")
    try:
        model.load_state_dict(read_weights_file(ckpt))
    except RuntimeError as e:
        raise WorkbenchError(f"{ckpt} does not fit a {cfg.detect.detector} on {cfg.backbone}: "
                             f"{str(e).splitlines()[0]}") from None
    dev = pick_device(device)
    place(model, dev).eval()
    return LoadedDetector(cfg, model, classes, run_dir, dev, info)
