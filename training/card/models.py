"""The two card networks, conv-only so they convert to TFLite and quantize to int8 cleanly.

- `CardDet`: whole photo (letterboxed 384x384 RGB) -> 5 maps at stride 4: number-line and expiry
  probability, field height, reading direction (cos, sin). A tiny MobileNet-style FPN.
- `CardRec`: a 32x384 grey field crop -> (T=48, 12) CTC class probabilities (blank + 0-9 + "/").
  Eight input columns per frame (2.5 frames per digit even for a squeezed 19-digit line): with 4
  columns per frame CTC sat on its blank plateau for hundreds of steps; at 8 it learns in tens.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..layers import DSBlock as _DS
from ..layers import conv_bn_relu as _cbr

__all__ = ["ARCHS", "CardDet", "CardRec", "det_arch_kwargs", "model_from_checkpoint", "rec_arch_kwargs"]


class CardDet(nn.Module):
    def __init__(self, width: float = 1.0):
        super().__init__()
        c = [int(v * width) for v in (16, 32, 48, 64, 96)]
        self.stem = _cbr(3, c[0], 3, 2)                                      # /2
        self.s1 = nn.Sequential(_DS(c[0], c[1], 2), _DS(c[1], c[1]))         # /4
        self.s2 = nn.Sequential(_DS(c[1], c[2], 2), _DS(c[2], c[2]))         # /8
        self.s3 = nn.Sequential(_DS(c[2], c[3], 2), _DS(c[3], c[3]), _DS(c[3], c[3]))  # /16
        self.s4 = nn.Sequential(_DS(c[3], c[4], 2), _DS(c[4], c[4]), _DS(c[4], c[4]))  # /32
        f = 32
        self.lat = nn.ModuleList([_cbr(ci, f, 1) for ci in (c[1], c[2], c[3], c[4])])
        self.head = nn.Sequential(_cbr(f, f, 3), _cbr(f, f, 3), nn.Conv2d(f, 5, 1))

    def features(self, x):
        """Everything up to the output convolution `head[-1]` (the int8 exports keep that one float)."""
        x = self.stem(x)
        f1 = self.s1(x)
        f2 = self.s2(f1)
        f3 = self.s3(f2)
        f4 = self.s4(f3)
        p = self.lat[3](f4)
        p = self.lat[2](f3) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        p = self.lat[1](f2) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        p = self.lat[0](f1) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        return self.head[:-1](p)

    def forward(self, x, raw: bool = False):
        y = self.head[-1](self.features(x))
        if raw:  # training uses logits for a stable BCE
            return y
        # Activations live inside the model so every backend returns ready-to-use maps.
        prob = torch.sigmoid(y[:, 0:2])
        height = F.softplus(y[:, 2:3])
        direction = torch.tanh(y[:, 3:5])
        return torch.cat([prob, height, direction], 1)


class CardRec(nn.Module):
    """`top` / `top_layers` widen and deepen only the frame-level end (1 x 48 positions), where
    channels are cheap: the high-resolution early layers cost most of the multiply-adds."""

    def __init__(self, n_classes: int = 12, width: float = 1.0, top: int | None = None, top_layers: int = 2):
        super().__init__()
        c = [int(v * width) for v in (16, 32, 48, 64, 96)]
        top = top or c[4]
        mid = max(c[3], top // 2)
        self.body = nn.Sequential(
            _cbr(1, c[0]), nn.MaxPool2d(2),                        # 16 x 192
            _cbr(c[0], c[1]), nn.MaxPool2d(2),                     # 8 x 96
            _cbr(c[1], c[2]), _cbr(c[2], c[2]), nn.MaxPool2d(2),   # 4 x 48
            _cbr(c[2], mid), nn.MaxPool2d((2, 1)),                 # 2 x 48
            _cbr(mid, top, (2, 3), p=(0, 1)),                      # 1 x 48
            *[_cbr(top, top, (1, 3)) for _ in range(top_layers)],
        )
        self.cls = nn.Conv2d(top, n_classes, 1)

    def forward(self, x):
        """(N, 1, 32, W) -> (N, W/8, C) log-probabilities."""
        y = self.cls(self.body(x))          # (N, C, 1, T)
        y = y.squeeze(2).permute(0, 2, 1)   # (N, T, C)
        return F.log_softmax(y, -1)


ARCHS = {"card_det": CardDet, "card_rec": CardRec}


def rec_arch_kwargs(recipe: dict) -> dict:
    """CardRec's shape arguments from a training recipe (checkpoints store theirs), so the trainer and
    both exporters build the same network; recipes from before `rec_top` existed give the v1-v4 shape."""
    return {"top": recipe.get("rec_top") or None, "top_layers": recipe.get("rec_top_layers", 2)}



def det_arch_kwargs(recipe: dict) -> dict:
    """CardDet's shape arguments from a training recipe; recipes from before `det_width` give width 1 (v1-v7)."""
    return {"width": float(recipe.get("det_width", 1.0))}


def model_from_checkpoint(ck: dict) -> nn.Module:
    """The network a card checkpoint (`card_det.pt` / `card_rec.pt`) holds, in eval mode: the shape its recipe
    names, its weights loaded strictly, the recogniser's classes from the checkpoint's vocabulary."""
    if ck["arch"] == "card_det":
        model: nn.Module = CardDet(**det_arch_kwargs(ck["recipe"]))
    else:
        model = CardRec(n_classes=len(ck["spec"]["vocab"]) + 1, **rec_arch_kwargs(ck["recipe"]))
    model.load_state_dict(ck["model"])
    return model.eval()
