"""Formula post-processing, pure numpy: detector maps -> boxes in source pixels.

The detector predicts, per output cell (stride 4), the probability that the cell lies in the *core* of
an embedded or an isolated formula (the box shrunk on every side, so that an inline formula and the
word next to it, or two lines of a display formula, stay apart), and the log distances from the cell
centre to the four box edges. Decoding: 8-connected components of the core map, class by the larger
summed probability, box edges as medians of the per-cell regressions (left and right edges from the
cells nearest to them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..components import label_components
from .pre import PageMeta, PreSpec

__all__ = ["DecodeConfig", "Detection", "decode", "label_components"]


@dataclass(frozen=True)
class DecodeConfig:
    threshold: float = 0.45      # core probability for a cell (max over classes)
    min_score: float = 0.55      # mean core probability of a kept component
    min_cells: int = 1           # a single italic letter at 1024 px is 1-2 cells
    min_side: float = 2.0        # boxes thinner than this (source pixels) are dropped
    max_log: float = 7.0         # clamp of the box channels before exp (distance <= box_unit * e^7)
    clamp: bool = False          # keep box edges near the core component (no gain on synthetic val: off)


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
