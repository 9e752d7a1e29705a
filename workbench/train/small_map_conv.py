"""A faster weight gradient for convolutions whose output map is tiny (at most 2×2), on CPU.

Why: oneDNN's weight-gradient kernel parallelises over the output map, so when that map is 1×1 or 2×2
(the last stages of a ResNet on 24×24 eye crops) it runs nearly serially: resnet18's 512→512 3×3 conv
on a 1×1 map takes ~60 ms for its weight gradient on 2 cores, 15× its forward pass. The same gradient as
one im2col matrix product takes ~4 ms. Forward and input gradient stay with oneDNN, which is fast there.
The maths is unchanged (tests compare gradients with PyTorch's own), and so are the modules' state dicts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_OUTPUT_PIXELS = 4  # measured crossover on 2 cores: 2×2 maps gain ~2×, 3×3 maps none


class _Conv2dSmallMap(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation, bias is not None)
        return F.conv2d(x, weight, bias, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, dilation, has_bias = ctx.conf
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, stride, padding, dilation, False, [0, 0], 1, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            cols = F.unfold(x, weight.shape[2:], dilation, padding, stride)  # (N, Cin*kh*kw, L)
            g = grad_out.flatten(2).transpose(0, 1).reshape(grad_out.shape[1], -1)  # (Cout, N*L)
            grad_w = (g @ cols.transpose(1, 2).reshape(-1, cols.shape[1])).view_as(weight)
        if has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum((0, 2, 3))
        return grad_x, grad_w, grad_b, None, None, None


class SmallMapConv2d(nn.Conv2d):
    """nn.Conv2d that takes the im2col weight gradient when training on CPU with a tiny output map."""

    def _conv_forward(self, x, weight, bias):
        if (x.device.type == "cpu" and torch.is_grad_enabled() and weight.requires_grad and x.dim() == 4
                and _out_pixels(self, x) <= MAX_OUTPUT_PIXELS):
            return _Conv2dSmallMap.apply(x, weight, bias, self.stride, self.padding, self.dilation)
        return super()._conv_forward(x, weight, bias)


def _out_pixels(conv: nn.Conv2d, x: torch.Tensor) -> int:
    h, w = x.shape[-2:]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    return ((h + 2 * ph - dh * (kh - 1) - 1) // sh + 1) * ((w + 2 * pw - dw * (kw - 1) - 1) // sw + 1)


def use_small_map_convs(model: nn.Module) -> int:
    """Switch the model's plain, ungrouped, zero-padded Conv2d layers to SmallMapConv2d; returns how many.

    Only the class changes (same parameters, same state dict); subclasses such as timm's Conv2dSame and
    grouped (depthwise) convolutions are left alone.
    """
    n = 0
    for m in model.modules():
        if (type(m) is nn.Conv2d and m.groups == 1 and m.padding_mode == "zeros"
                and isinstance(m.padding, tuple)):
            m.__class__ = SmallMapConv2d
            n += 1
    return n
