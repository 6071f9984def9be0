"""Formula pre-processing, pure numpy + Pillow: page photo -> grey detector tensor of any aspect.

The page is resized so its long side is `PreSpec.long_side` (aspect kept), converted to grey and padded
bottom/right to a multiple of `PreSpec.multiple`. Training, calibration and the SDK all call these
functions; the spec itself is read from the model's ONNX metadata (`PreSpec.from_metadata`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..resample import resize_hv
from ..spec import MetadataSpec

__all__ = ["CLASSES", "PageMeta", "PreSpec", "det_tensor", "page_canvas", "prepare"]

CLASSES = ("embedded", "isolated")


@dataclass(frozen=True)
class PreSpec(MetadataSpec):
    """What the formula detector expects. Defaults are the training values; the model carries its own.

    Why 1024: on the real scans (1600 px long side) the median formula is 15.4 px tall; at 1024 it is
    9.9 px, 2.5 output cells, and the encode/decode round trip of the truth boxes keeps F1@0.5 = 0.99
    (docs/formula.md, "Resolution"); 768 drops small formulas below 2 cells.
    """

    long_side: int = 1024        # page resized so its long side is this many input pixels
    multiple: int = 32           # input height/width padded up to a multiple of this (network /32)
    stride: int = 4              # output cell size, input pixels
    mean: float = 0.5            # x = (grey / 255 - mean) / std
    std: float = 0.5
    colour: str = "grey"         # grey from RGB by ITU-R 601-2 luma (PIL "L"), 1 input channel
    pad_value: int = 255         # padding grey (white paper)
    box_unit: float = 8.0        # box channels are log(distance / box_unit), distances in input pixels
    shrink: float = 0.3          # core target = box shrunk by shrink * min(box height, width) each side
    classes: str = ",".join(CLASSES)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.classes.split(","))


@dataclass(frozen=True)
class PageMeta:
    scale: float                 # input pixels per source pixel
    src_size: tuple[int, int]    # (width, height) of the source image
    in_size: tuple[int, int]     # (width, height) of the resized page inside the padded input


def _padded(n: int, m: int) -> int:
    return max(m, -(-n // m) * m)


def page_canvas(img: Image.Image, spec: PreSpec, size: tuple[int, int] | None = None) -> tuple[np.ndarray, PageMeta]:
    """Resize the long side to `long_side`, grey, pad to a multiple: (H, W) uint8 and the scale.

    `size` = (H, W) pads to exactly that instead, for models with a fixed input (the TFLite export).
    """
    w, h = img.size
    scale = spec.long_side / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    grey = img if img.mode == "L" else img.convert("L")
    # BOX (area) filter: thin strokes of small formulas survive downscaling better than bilinear.
    small = resize_hv(grey, (nw, nh), Image.BOX if scale < 1 else Image.BILINEAR)
    ph, pw = size if size else (_padded(nh, spec.multiple), _padded(nw, spec.multiple))
    if nh > ph or nw > pw:
        raise ValueError(f"a {nw}x{nh} page does not fit the model's fixed {pw}x{ph} input")
    canvas = np.full((ph, pw), spec.pad_value, np.uint8)
    canvas[:nh, :nw] = np.asarray(small)
    return canvas, PageMeta(scale, (w, h), (nw, nh))


def det_tensor(canvases: np.ndarray, spec: PreSpec) -> np.ndarray:
    """(N, H, W) uint8 -> (N, 1, H, W) float32 normalised detector input."""
    x = (canvases.astype(np.float32) / 255.0 - spec.mean) / spec.std
    return np.ascontiguousarray(x[:, None])


def prepare(img: Image.Image, spec: PreSpec, size: tuple[int, int] | None = None) -> tuple[np.ndarray, PageMeta]:
    """RGB or grey PIL image -> (1, 1, H, W) float32 detector input and the meta to map boxes back.

    `size` = (H, W): pad to this fixed model input instead of the next multiple of `spec.multiple`.
    """
    canvas, meta = page_canvas(img, spec, size)
    return det_tensor(canvas[None], spec), meta
