"""The fast weight gradient for tiny conv maps must give PyTorch's own gradients, and only switch plain convs."""

import copy

import pytest
import timm
import torch
import torch.nn.functional as F
from torch import nn

from workbench.train import small_map_conv as S


def _grads(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [p.grad.clone() for p in model.parameters()]


def test_resnet18_on_24px_crops_gets_the_same_gradients_and_state_dict():
    torch.manual_seed(0)
    ref = timm.create_model("resnet18", pretrained=False, num_classes=2)
    fast = copy.deepcopy(ref)
    assert S.use_small_map_convs(fast) == 20
    assert list(fast.state_dict()) == list(ref.state_dict())
    x, y = torch.randn(8, 3, 24, 24), torch.tensor([0, 1] * 4)
    calls = []
    real = S._Conv2dSmallMap.apply
    def spy(*a):
        out = real(*a)
        calls.append(out.shape[-2:].numel())
        return out
    S._Conv2dSmallMap.apply = spy
    try:
        got = _grads(fast, x, y)
    finally:
        S._Conv2dSmallMap.apply = real
    # layer3 (2×2 maps) and layer4 (1×1) take the fast path; the 12×12 stem and 6×6 layer1 do not
    assert calls and max(calls) <= 4 and len(calls) < 20
    for g_ref, g in zip(_grads(ref, x, y), got):
        torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1, bias=True),
                                dict(kernel_size=3, padding=2, dilation=2, bias=False),
                                dict(kernel_size=(1, 3), padding=(0, 1), bias=True)])
def test_single_conv_gradients_match_for_stride_dilation_bias_and_rect_kernels(kw):
    torch.manual_seed(1)
    ref = nn.Conv2d(5, 7, **kw).double()
    fast = copy.deepcopy(ref)
    S.use_small_map_convs(fast)
    x = torch.randn(3, 5, 2, 2, dtype=torch.double, requires_grad=True)
    outs = []
    for m in (ref, fast):
        x.grad = None
        out = m(x)
        (out * torch.arange(out.numel(), dtype=torch.double).view_as(out)).sum().backward()
        outs.append((out.detach(), x.grad.clone(), m.weight.grad, m.bias.grad if m.bias is not None else None))
    for a, b in zip(*outs):
        if a is not None:
            torch.testing.assert_close(b, a)


def test_grouped_and_timm_same_padding_convs_are_left_alone():
    model = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=2)
    S.use_small_map_convs(model)
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert depthwise and not any(isinstance(m, S.SmallMapConv2d) for m in depthwise)
    x = torch.randn(2, 3, 24, 24)
    model.eval()
    with torch.no_grad():  # eval without grad never takes the custom path and still works
        assert model(x).shape == (2, 2)
