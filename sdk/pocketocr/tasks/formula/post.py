"""Formula post-processing, pure numpy: detector maps -> boxes in source pixels.

The detector predicts, per output cell (stride 4), the probability that the cell lies in the *core* of
an embedded or an isolated formula (the box shrunk on every side, so that an inline formula and the
word next to it, or two lines of a display formula, stay apart), and the log distances from the cell
centre to the four box edges. Decoding: 8-connected components of the core map, class by the larger
summed probability, box edges as medians of the per-cell regressions (left and right edges from the
cells nearest to them). Then `snap_to_ink` shrinks each box to the ink it holds on the page itself: the
regression is made at the model's 1024 px scale, a pixel there is 1.5 or more of a photo's, and the boxes
people draw (and the evaluators' sets) are tight around the ink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..components import label_components
from .pre import PageMeta, PreSpec

__all__ = ["DecodeConfig", "Detection", "decode", "label_components", "otsu_threshold", "snap_to_ink"]


@dataclass(frozen=True)
class DecodeConfig:
    threshold: float = 0.45      # core probability for a cell (max over classes)
    min_score: float = 0.55      # mean core probability of a kept component
    min_cells: int = 1           # a single italic letter at 1024 px is 1-2 cells
    min_side: float = 2.0        # boxes thinner than this (source pixels) are dropped
    max_log: float = 7.0         # clamp of the box channels before exp (distance <= box_unit * e^7)
    clamp: bool = False          # keep box edges near the core component (no gain on synthetic val: off)
    snap: bool = True            # shrink each box to the ink inside it (snap_to_ink)
    snap_margin: float = 0.5     # the ink/paper threshold is set on the box grown by this times its height
    snap_contrast: int = 40      # below this grey-level range around a box there is no ink to snap to


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]   # x1, y1, x2, y2, source pixels
    kind: str                                 # "embedded" | "isolated"
    score: float


def decode(prob: np.ndarray, box: np.ndarray, meta: PageMeta, spec: PreSpec,
           cfg: DecodeConfig = DecodeConfig()) -> list[Detection]:
    """Detector outputs -> formulas in source pixels, best score first.

    Args:
        prob: (2, h, w) float32 core probabilities (embedded, isolated).
        box: (4, h, w) float32 log(distance / box_unit) to the left, top, right, bottom box edges.
        meta: from `prepare`, maps input pixels back to source pixels.
        spec: the model's preprocessing spec.
        cfg: thresholds.
    """
    classes = spec.class_names
    # Only the resized page, not the padding, can hold formulas.
    hv = min(prob.shape[1], -(-meta.in_size[1] // spec.stride))
    wv = min(prob.shape[2], -(-meta.in_size[0] // spec.stride))
    prob, box = prob[:, :hv, :wv], box[:, :hv, :wv]
    pmax = prob.max(0)
    labels = label_components(pmax > cfg.threshold)
    n = int(labels.max())
    if n == 0:
        return []
    rr, cc = np.nonzero(labels)
    lab = labels[rr, cc] - 1
    order = np.argsort(lab, kind="stable")
    rr, cc, lab = rr[order], cc[order], lab[order]
    bounds = np.searchsorted(lab, np.arange(n + 1))
    s = spec.stride
    dist = np.exp(np.clip(box[:, rr, cc], -cfg.max_log, cfg.max_log)) * spec.box_unit  # (4, K) input px
    cx, cy = (cc + 0.5) * s, (rr + 0.5) * s
    x1s, y1s, x2s, y2s = cx - dist[0], cy - dist[1], cx + dist[2], cy + dist[3]
    w_src, h_src = meta.src_size
    out: list[Detection] = []
    for k in range(n):
        sl = slice(bounds[k], bounds[k + 1])
        if bounds[k + 1] - bounds[k] < cfg.min_cells:
            continue
        p = prob[:, rr[sl], cc[sl]]                    # (2, K)
        score = float(p.max(0).mean())
        if score < cfg.min_score:
            continue
        kind = classes[int(np.argmax(p.sum(1)))]
        c, rws = cc[sl], rr[sl]
        left, right = c <= c.min() + 1, c >= c.max() - 1
        x1 = float(np.median(x1s[sl][left]))
        x2 = float(np.median(x2s[sl][right]))
        y1 = float(np.median(y1s[sl]))
        y2 = float(np.median(y2s[sl]))
        if cfg.clamp:
            # The core is the box shrunk by shrink * min(h, w) per side: an edge cannot lie further out
            # than that from the component (plus a cell of quantisation), whatever the regression says.
            m = spec.shrink * max(1.0, min(y2 - y1, x2 - x1)) + s
            x1 = max(x1, c.min() * s - m)
            x2 = min(x2, (c.max() + 1) * s + m)
            y1 = max(y1, rws.min() * s - m)
            y2 = min(y2, (rws.max() + 1) * s + m)
        sc = meta.scale
        x1, x2 = max(0.0, x1 / sc), min(float(w_src), x2 / sc)
        y1, y2 = max(0.0, y1 / sc), min(float(h_src), y2 / sc)
        if x2 - x1 < cfg.min_side or y2 - y1 < cfg.min_side:
            continue
        out.append(Detection((round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)), kind, round(score, 4)))
    out.sort(key=lambda d: -d.score)
    return out


def otsu_threshold(values: np.ndarray) -> int:
    """Otsu's threshold of uint8 `values`: the k for which splitting them into <= k and > k gives the largest
    between-class variance (the first such k). In exact integer sums and one IEEE division per k, so the
    browser port computes the same k."""
    counts = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    n0 = np.cumsum(counts)                                  # integers < 2^53: exact
    s0 = np.cumsum(counts * np.arange(256, dtype=np.float64))
    n, total = n0[-1], s0[-1]
    d = total * n0 - n * s0
    den = n0 * (n - n0)
    var = np.where(den > 0, d * d / np.where(den > 0, den, 1.0), -1.0)
    return int(np.argmax(var))


def snap_to_ink(found: list[Detection], grey: np.ndarray, cfg: DecodeConfig = DecodeConfig()) -> list[Detection]:
    """Shrink each box to the bounding box of the ink inside it, on the (H, W) uint8 grey page the boxes are in.

    Ink is what is at or below the Otsu threshold of the box grown by `snap_margin` x its height on every side
    (paper and ink both in view). A box with too little contrast around it, or fewer than 3 ink pixels in it,
    stays as decoded. Boxes only shrink: a formula the detector cut short is not grown into the next word.
    """
    if not cfg.snap:
        return found
    h_img, w_img = grey.shape
    out = []
    for d in found:
        x1, y1, x2, y2 = d.box
        ix1, iy1 = max(0, math.floor(x1)), max(0, math.floor(y1))
        ix2, iy2 = min(w_img, math.ceil(x2)), min(h_img, math.ceil(y2))
        m = max(2, math.floor(cfg.snap_margin * (y2 - y1)))
        wx1, wy1, wx2, wy2 = max(0, ix1 - m), max(0, iy1 - m), min(w_img, ix2 + m), min(h_img, iy2 + m)
        window = grey[wy1:wy2, wx1:wx2]
        if ix2 <= ix1 or iy2 <= iy1 or window.size == 0 or int(window.max()) - int(window.min()) < cfg.snap_contrast:
            out.append(d)
            continue
        ink = grey[iy1:iy2, ix1:ix2] <= otsu_threshold(window)
        if int(ink.sum()) < 3:
            out.append(d)
            continue
        cols, rows = np.nonzero(ink.any(0))[0], np.nonzero(ink.any(1))[0]
        box = (float(ix1 + cols[0]), float(iy1 + rows[0]), float(ix1 + cols[-1] + 1), float(iy1 + rows[-1] + 1))
        out.append(Detection(box, d.kind, d.score))
    return out
