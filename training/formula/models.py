"""The formula detector network: conv-only (Conv, BatchNorm, ReLU, nearest upsampling, Sigmoid) so it
exports to ONNX and TFLite and quantizes to int8 cleanly.

`FormulaDet`: grey page (N, 1, H, W), H and W multiples of 32 -> core probabilities (N, 2, H/4, W/4)
and box log-distances (N, 4, H/4, W/4). A small MobileNet-style backbone with an FPN to stride 4; the
/32 level adds dilated depthwise blocks for the context that tells a display line from a text line.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..layers import DSBlock as _DS
from ..layers import conv_bn_relu as _cbr

__all__ = ["ARCHS", "FormulaDet"]


class FormulaDet(nn.Module):
    def __init__(self, width: float = 1.0):
        super().__init__()
        c = [int(v * width) for v in (16, 24, 48, 64, 96)]
        self.stem = nn.Sequential(_cbr(1, c[0], 3, 2), _cbr(c[0], c[0], 3, 1, g=c[0]))    # /2
        self.s1 = nn.Sequential(_DS(c[0], c[1], 2), _DS(c[1], c[1]))                       # /4
        self.s2 = nn.Sequential(_DS(c[1], c[2], 2), _DS(c[2], c[2]))                       # /8
        self.s3 = nn.Sequential(_DS(c[2], c[3], 2), _DS(c[3], c[3]), _DS(c[3], c[3]))      # /16
        self.s4 = nn.Sequential(_DS(c[3], c[4], 2), _DS(c[4], c[4]), _DS(c[4], c[4], d=2),
                                _DS(c[4], c[4], d=4))                                      # /32
        f = 32
        self.lat = nn.ModuleList([_cbr(ci, f, 1) for ci in (c[1], c[2], c[3], c[4])])
        self.head = nn.Sequential(_DS(f, f), _DS(f, f))
        self.prob = nn.Conv2d(f, 2, 1)
        self.box = nn.Conv2d(f, 4, 1)
        nn.init.constant_(self.prob.bias, -4.0)   # cores are rare: start near p = 0.02

    def features(self, x):
        """Everything up to the two output convolutions `prob` and `box` (the int8 exports keep those float)."""
        x = self.stem(x)
        f1 = self.s1(x)
        f2 = self.s2(f1)
        f3 = self.s3(f2)
        f4 = self.s4(f3)
        p = self.lat[3](f4)
        p = self.lat[2](f3) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        p = self.lat[1](f2) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        p = self.lat[0](f1) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        return self.head(p)

    def forward(self, x, raw: bool = False):
        y = self.features(x)
        logits, box = self.prob(y), self.box(y)
        if raw:  # training uses logits for a stable BCE
            return logits, box
        return torch.sigmoid(logits), box


ARCHS = {"formula_det": FormulaDet}
