"""Turn synthetic card samples into model inputs and targets, using the SDK's own pre-processing.

`build_cache` renders samples in worker processes and stores shards of
- detector inputs: (N, S, S, 3) uint8 letterboxed photos and (N, 5, S/4, S/4) float16 targets;
- recogniser crops: (M, 32, 384) uint8 field crops cut with jittered geometry, and their labels,
so that training epochs cost no rendering.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from pocketocr.tasks.card.pre import FieldGeom, PreSpec, crop_field, geom_from_quad, letterbox_canvas

from ..common import load_shards as load_cache
from ..common import render_shards, shard_jobs
from .synth import LATEST, CardSample, make_sample

__all__ = ["TARGET_STYLES", "build_cache", "centre_score", "centre_target", "det_target", "extend_geom", "jitter_geom", "load_cache", "sample_arrays"]


TARGET_STYLES = ("fill", "centre")


def det_target(sample: CardSample, scale: float, spec: PreSpec, style: str = "fill") -> np.ndarray:
    """(5, S/4, S/4) float32: number mask, expiry mask, height / unit, cos, sin (zero off-field).

    `style` "fill" (the v1-v6 detectors): each field's quad filled and outlined at cell resolution, which
    marks a field half a cell up and left of the text and joins stacked lines (docs/export.md). "centre":
    `centre_target`, a soft score that is 1 on a field's centre line and falls to 0 at its top and bottom
    edges, so stacked lines are kept apart by a row of low scores and a field's cells are centred on it.
    """
    if style == "centre":
        return centre_target(sample, scale, spec)
    if style != "fill":
        raise ValueError(f"unknown detector target style {style!r}; known: {TARGET_STYLES}")
    n = spec.det_size // spec.det_stride
    t = np.zeros((5, n, n), np.float32)
    f = scale / spec.det_stride
    fields = [(0, q) for q in sample.number_quads] + ([(1, sample.expiry_quad)] if sample.expiry_quad else [])
    for ch, quad in fields:
        g = geom_from_quad(quad)
        poly = [(x * f - 0.5, y * f - 0.5) for x, y in quad]
        m = Image.new("L", (n, n), 0)
        # fill + outline: even a field thinner than one cell marks at least one row of cells
        ImageDraw.Draw(m).polygon(poly, fill=1, outline=1)
        mask = np.asarray(m, bool)
        t[ch][mask] = 1.0
        t[2][mask] = g.height * scale / spec.height_unit
        t[3][mask] = g.ux
        t[4][mask] = g.uy
    return t


def centre_score(quad, xy: np.ndarray, min_half: float) -> np.ndarray:
    """For points `xy` (N, 2): 1 - (d / h)^2 clipped to [0, 1], where d is the distance across the quad
    (tl, tr, br, bl) from its centre line and h half its local height (at least `min_half`); 0 for points
    before its left edge or past its right edge. Perspective is followed: the local top and bottom edge
    points are interpolated along the quad."""
    tl, tr, br, bl = (np.asarray(p, np.float64) for p in quad)
    ml, mr = (tl + bl) / 2, (tr + br) / 2
    axis = mr - ml
    s = ((xy - ml) @ axis) / max(float(axis @ axis), 1e-9)
    top = tl + s[:, None] * (tr - tl)
    down = (bl + s[:, None] * (br - bl)) - top
    height = np.maximum(np.linalg.norm(down, axis=1), 1e-9)
    across = np.einsum("ij,ij->i", xy - top, down) / height - height / 2
    half = np.maximum(height / 2, min_half)
    score = np.clip(1 - (across / half) ** 2, 0, 1)
    score[(s < 0) | (s > 1)] = 0
    return score


def centre_target(sample: CardSample, scale: float, spec: PreSpec) -> np.ndarray:
    """`det_target` style "centre": each field scores its cells by `centre_score` (cell centres in input
    pixels, as `find_fields` places them); where fields overlap, the higher score wins the cell's height and
    direction. A field thinner than 1.5 cells is scored as if 1.5 cells high, so its nearest row still
    reaches 0.55 and a small line is not lost."""
    stride = spec.det_stride
    n = spec.det_size // stride
    t = np.zeros((5, n, n), np.float32)
    rows, cols = np.mgrid[0:n, 0:n]
    xy = np.stack([(cols.ravel() + 0.5) * stride, (rows.ravel() + 0.5) * stride], 1).astype(np.float64)
    best = np.zeros(n * n)
    cells = t.reshape(5, n * n)  # a view: writing a cell of `cells` writes `t`
    fields = [(0, q) for q in sample.number_quads] + ([(1, sample.expiry_quad)] if sample.expiry_quad else [])
    for ch, quad in fields:
        g = geom_from_quad(quad)
        score = centre_score([(x * scale, y * scale) for x, y in quad], xy, 0.75 * stride)
        on = score > 0
        if not on.any():
            continue
        cells[ch, on] = np.maximum(cells[ch, on], score[on])
        win = score > best
        best[win] = score[win]
        for c, v in ((2, g.height * scale / spec.height_unit), (3, g.ux), (4, g.uy)):
            cells[c, win] = v
    return t


def jitter_geom(rng: random.Random, g: FieldGeom) -> FieldGeom:
    """Perturb a true field the way the detector errs: offsets, height and length error, small tilt."""
    a = math.atan2(g.uy, g.ux) + math.radians(rng.gauss(0, 2.0))
    ux, uy = math.cos(a), math.sin(a)
    da = rng.uniform(-0.12, 0.12) * g.height + rng.uniform(-0.02, 0.02) * g.length
    dn = rng.uniform(-0.15, 0.15) * g.height
    return FieldGeom(g.cx + ux * da - uy * dn, g.cy + uy * da + ux * dn, ux, uy,
                     g.length * rng.uniform(0.96, 1.08), g.height * rng.uniform(0.8, 1.3))


def extend_geom(rng: random.Random, g: FieldGeom, most: float) -> FieldGeom:
    """Half of the time, lengthen one or both ends by up to `most` field heights (label unchanged), so
    the crop takes in what is printed beside the field: a brand name, a logo, the card edge. The
    recogniser learns that such ink is not a digit (docs/export.md, "crops that run into the
    neighbouring ink"); the detector's own boxes run into it on real cards."""
    if rng.random() < 0.5:
        return g
    left = rng.uniform(0, most) * g.height if rng.random() < 0.7 else 0.0
    right = rng.uniform(0, most) * g.height if rng.random() < 0.7 else 0.0
    shift = (right - left) / 2
    return FieldGeom(g.cx + g.ux * shift, g.cy + g.uy * shift, g.ux, g.uy, g.length + left + right, g.height)


def sample_arrays(seed: int, spec: PreSpec, crops_per_field: int = 2, version: int = LATEST, extend: float = 0.0,
                  target_style: str = "fill"):
    """Render one sample of data version `version` -> (canvas, target, [(crop, text)]).

    `extend` > 0 lengthens crops with `extend_geom`, drawing from a random stream of its own, so the
    jitter (and with `extend` = 0 every crop) stays what it was. `target_style`: see `det_target`."""
    s = make_sample(seed, version=version)
    canvas, meta = letterbox_canvas(s.image, spec)
    target = det_target(s, meta.scale, spec, target_style)
    rng = random.Random(seed ^ 0x5EED)
    ext_rng = random.Random(seed ^ 0xE7E7D)
    gray = s.image.convert("L")
    crops = []
    fields = list(zip(s.number_quads, s.number_lines))
    if s.expiry_quad and s.expiry:
        fields.append((s.expiry_quad, s.expiry))
    for quad, text in fields:
        g = geom_from_quad(quad)
        for _ in range(crops_per_field):
            geom = jitter_geom(rng, g)
            if extend > 0:
                geom = extend_geom(ext_rng, geom, extend)
            crops.append((crop_field(gray, geom, spec), text))
    return canvas, target, crops


def _shard(args) -> dict:
    seeds, spec, version, extend, target_style = args
    canv, targ, crops, texts = [], [], [], []
    for sd in seeds:
        c, t, cr = sample_arrays(sd, spec, version=version, extend=extend, target_style=target_style)
        canv.append(c)
        targ.append(t.astype(np.float16))
        for crop, text in cr:
            crops.append(crop)
            texts.append(text)
    return {"canvas": np.stack(canv), "target": np.stack(targ), "crops": np.stack(crops),
            "texts": np.array(texts)}


def build_cache(out: Path, seed: int, n: int, spec: PreSpec, workers: int = 2, shard_size: int = 250,
                progress: bool = True, version: int = LATEST, extend: float = 0.0, target_style: str = "fill") -> Path:
    """Render `n` samples (seeds seed*1_000_003 + i, as `write_dataset`) into npz shards under `out`.

    Existing complete shards are kept, so an interrupted build resumes. `extend`, `target_style`: see
    `sample_arrays`.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = shard_jobs(out, seed, n, shard_size)
    render_shards(jobs, _shard, [(s, spec, version, extend, target_style) for _, s in jobs], workers, f"render {out.name}", "img",
                  progress)
    return out
