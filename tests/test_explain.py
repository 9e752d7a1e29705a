"""Grad-CAM: target layers per architecture, method registry, batching, the small-input trap, overlays."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from workbench.errors import WorkbenchError
from workbench.explain.cam import compute_cams, overlay
from workbench.explain.layers import choose_layer, target_layer
from workbench.explain.methods import METHODS


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return timm.create_model("resnet18", pretrained=False, num_classes=2).eval()


@pytest.mark.parametrize("arch, layer", [("resnet18", "layer4.1"), ("efficientnet_lite0", "conv_head"),
                                         ("mobilenetv2_100", "conv_head"), ("mobilenetv3_small_100", "blocks.5")])
def test_default_target_layer_is_the_last_spatial_stage(arch, layer):
    model = timm.create_model(arch, pretrained=False, num_classes=3).eval()
    name, module = target_layer(model)
    assert name == layer and module is dict(model.named_modules())[layer]
    maps = compute_cams(model, torch.randn(2, 3, 96, 96), 1)
    assert maps.shape == (2, 96, 96)


def test_wrapped_backbone_is_found_and_named_with_its_prefix(resnet):
    wrapper = torch.nn.Sequential()
    wrapper.add_module("net", resnet)
    assert target_layer(wrapper)[0] == "net.layer4.1"


def test_unknown_layer_names_the_valid_ones(resnet):
    with pytest.raises(WorkbenchError, match=r"No layer 'layer9'.*Valid layer names.*layer3.*layer4\.1"):
        compute_cams(resnet, torch.randn(1, 3, 64, 64), 0, layer="layer9")
    with pytest.raises(WorkbenchError, match=r"Layer 'fc' \(Linear\) does not output a feature map.*layer4\.1"):
        compute_cams(resnet, torch.randn(1, 3, 64, 64), 0, layer="fc")
    assert compute_cams(resnet, torch.randn(1, 3, 64, 64), 0, layer="layer3").shape == (1, 64, 64)


def test_unknown_method_and_bad_class_are_refused(resnet):
    with pytest.raises(WorkbenchError, match="gradcam, gradcam\\+\\+, eigencam"):
        compute_cams(resnet, torch.randn(1, 3, 64, 64), 0, method="magic")
    with pytest.raises(WorkbenchError, match="Class index 5 out of range: the model has 2 classes"):
        compute_cams(resnet, torch.randn(1, 3, 64, 64), 5)


@pytest.mark.parametrize("size, stage", [(24, "layer2"), (28, "layer2"), (64, "layer3")])
def test_small_input_uses_the_deepest_layer_that_keeps_a_3x3_map(resnet, size, stage):
    # at 24-32 px the default layer4's map is 1x1 (stride 32), at 64 px 2x2: its CAM would be blank or blocky
    chosen, module = choose_layer(resnet, (size, size))
    assert chosen.name == stage and module is dict(resnet.named_modules())[stage]
    assert min(chosen.map_hw) >= 3 and "default layer4.1" in chosen.note
    assert f"layer {stage}" in chosen.describe() and "1x1" in choose_layer(resnet, (24, 24))[0].describe()
    assert choose_layer(resnet, (96, 96))[0].name == "layer4.1"  # 3x3 there: the default stays


def test_explicit_layer_overrides_the_automatic_choice_and_a_1x1_one_is_refused(resnet):
    assert choose_layer(resnet, (24, 24), "layer3.0")[0].name == "layer3.0"
    assert compute_cams(resnet, torch.randn(1, 3, 24, 24), 0, layer="layer3.0").shape == (1, 24, 24)
    with pytest.raises(WorkbenchError, match="'layer4.1' has a 1x1 feature map at 24x24"):
        compute_cams(resnet, torch.randn(2, 3, 24, 24), 0, layer="layer4.1")


def test_no_layer_with_a_3x3_map_is_said_plainly(resnet):
    with pytest.raises(WorkbenchError, match="No layer of ResNet keeps a 3x3 feature map at 8x8 input"):
        compute_cams(resnet, torch.randn(1, 3, 8, 8), 0)


def test_choosing_a_layer_leaves_batchnorm_statistics_and_training_mode_alone():
    model = timm.create_model("resnet18", pretrained=False, num_classes=2).train()
    before = model.bn1.running_mean.clone()
    choose_layer(model, (30, 30))
    assert model.training and torch.equal(model.bn1.running_mean, before)


@pytest.mark.parametrize("method", list(METHODS))
def test_batched_equals_one_at_a_time(resnet, method):
    x = torch.randn(5, 3, 64, 64)
    batched = compute_cams(resnet, x, [0, 1, 0, 1, 1], method, batch_size=5)
    single = np.concatenate([compute_cams(resnet, x[i:i + 1], [c], method) for i, c in enumerate([0, 1, 0, 1, 1])])
    np.testing.assert_allclose(batched, single, atol=1e-4)


def test_frozen_backbone_under_no_grad_still_gets_gradients(resnet):
    for p in resnet.parameters():
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            maps = compute_cams(resnet, torch.randn(2, 3, 64, 64), 1)
        assert (maps.std(axis=(1, 2)) > 0.05).all()
    finally:
        for p in resnet.parameters():
            p.requires_grad_(True)


def test_cam_hooks_are_released_and_weights_left_trainable(resnet):
    compute_cams(resnet, torch.randn(1, 3, 64, 64), 0)
    assert not resnet.layer4[1]._forward_hooks
    assert all(p.requires_grad for p in resnet.parameters()) and resnet.fc.weight.grad is None


def test_overlay_upscales_a_24px_crop_sharply():
    crop = Image.fromarray(np.kron(np.eye(3, dtype=np.uint8) * 255, np.ones((8, 8), np.uint8)))  # 24x24 blocks
    cam = np.zeros((96, 96), np.float32)
    cam[:48] = 1.0
    out = overlay(crop, cam, size=192)
    assert out.size == (192, 192) and out.mode == "RGB"
    a = np.asarray(out).astype(int)
    # nearest-neighbour upscaling: each source pixel becomes an 8x8 block of one colour
    assert (a[:8, :8] == a[0, 0]).all() and (a[-8:, -8:] == a[-1, -1]).all()
    # hot half (top) and cold half (bottom) differ in colour
    assert abs(a[:90, :, 0].mean() - a[100:, :, 0].mean()) > 30
