"""Building blocks shared by the card and formula networks: conv-only, so every model exports to ONNX
and TFLite and quantizes to int8 the same way."""

from __future__ import annotations

from torch import nn

__all__ = ["DSBlock", "conv_bn_relu"]


def conv_bn_relu(ci: int, co: int, k=3, s=1, g: int = 1, p=None, d: int = 1) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> ReLU. `k` may be a (kh, kw) pair; padding defaults to 'same'."""
    if p is None:
        p = d * (k // 2) if isinstance(k, int) else tuple(d * (x // 2) for x in k)
    return nn.Sequential(nn.Conv2d(ci, co, k, s, p, dilation=d, groups=g, bias=False), nn.BatchNorm2d(co),
                         nn.ReLU(inplace=True))


class DSBlock(nn.Module):
    """Depthwise-separable block (optionally dilated) with a residual when shapes allow."""

    def __init__(self, ci: int, co: int, s: int = 1, d: int = 1):
        super().__init__()
        self.dw = conv_bn_relu(ci, ci, 3, s, g=ci, d=d)
        self.pw = conv_bn_relu(ci, co, 1)
        self.res = s == 1 and ci == co

    def forward(self, x):
        y = self.pw(self.dw(x))
        return x + y if self.res else y
