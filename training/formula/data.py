"""Turn synthetic pages into detector inputs and targets, using the SDK's own pre-processing.

Targets at stride 4 (float16, (6, S/4, S/4)): 0-1 core masks of embedded / isolated formulas (the
box shrunk by `PreSpec.shrink` * min(height, width) on each side, warped with the page; at least the
centre cell), 2-5 log(distance / box_unit) from each core cell's centre to the left, top, right,
bottom edge of its box. `build_cache` renders pages in worker processes into shards of
(N, S, S) uint8 grey pages, padded to S x S, plus targets, so epochs cost no rendering.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from pocketocr.tasks.formula.pre import CLASSES, PreSpec, page_canvas

from ..common import load_shards as load_cache
from ..common import render_shards, shard_jobs
from .bank import Bank
from .synth import PageSample, make_page

__all__ = ["build_cache", "encode_targets", "load_cache", "page_arrays"]

_BANK: dict[str, Bank] = {}


def encode_targets(boxes, cores, scale: float, shape: tuple[int, int], spec: PreSpec) -> np.ndarray:
    """Boxes (x1, y1, x2, y2, kind) and core quads in source pixels -> (6, h, w) float32 targets."""
    h, w = shape
    s = spec.stride
    t = np.zeros((6, h, w), np.float32)
    f = scale / s
    # Small boxes last, so where cores touch the small formula keeps its cells.
    order = sorted(range(len(boxes)), key=lambda i: -(boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1]))
    for i in order:
        x1, y1, x2, y2, kind = boxes[i]
        ch = CLASSES.index(kind)
        # Work in the window of cells around the core only (pages hold ~100 formulas).
        poly = [(x * f - 0.5, y * f - 0.5) for x, y in cores[i]]
        ccx, ccy = (x1 + x2) / 2 * f, (y1 + y2) / 2 * f
        xs_, ys_ = [p[0] for p in poly] + [ccx], [p[1] for p in poly] + [ccy]
        c0_, c1_ = max(0, int(np.floor(min(xs_))) - 1), min(w, int(np.ceil(max(xs_))) + 2)
        r0_, r1_ = max(0, int(np.floor(min(ys_))) - 1), min(h, int(np.ceil(max(ys_))) + 2)
        if c1_ <= c0_ or r1_ <= r0_:
            continue
        m = Image.new("L", (c1_ - c0_, r1_ - r0_), 0)
        ImageDraw.Draw(m).polygon([(x - c0_, y - r0_) for x, y in poly], fill=1, outline=1)
        mask = np.asarray(m, bool).copy()
        r0, c0 = int(np.clip(ccy, 0, h - 1)), int(np.clip(ccx, 0, w - 1))
        if r0_ <= r0 < r1_ and c0_ <= c0 < c1_:
            mask[r0 - r0_, c0 - c0_] = True
        cy, cx = (np.mgrid[r0_:r1_, c0_:c1_].astype(np.float32) + 0.5) * s
        bx = np.array([x1, y1, x2, y2], np.float32) * scale
        d = np.stack([cx - bx[0], cy - bx[1], bx[2] - cx, bx[3] - cy])
        d = np.log(np.maximum(d, 0.5) / spec.box_unit)
        win = t[:, r0_:r1_, c0_:c1_]
        win[0:2, mask] = 0
        win[ch, mask] = 1.0
        win[2:6, mask] = d[:, mask]
    return t


def page_arrays(sample: PageSample, spec: PreSpec, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Page -> (size, size) uint8 canvas (white padded) and (6, size/4, size/4) float16 targets."""
    canvas, meta = page_canvas(sample.image, spec)
    full = np.full((size, size), spec.pad_value, np.uint8)
    h, w = min(size, canvas.shape[0]), min(size, canvas.shape[1])
    full[:h, :w] = canvas[:h, :w]
    t = encode_targets(sample.boxes, sample.cores, meta.scale, (size // spec.stride, size // spec.stride), spec)
    return full, t.astype(np.float16)


def _shard(args) -> dict:
    seeds, spec, size, bank_path, photo, version = args
    from .bank import load_bank

    if bank_path not in _BANK:
        _BANK[bank_path] = load_bank(Path(bank_path))
    bank = _BANK[bank_path]
    canv, targ, cap = [], [], []
    for sd in seeds:
        s = make_page(sd, bank, photo, version)
        c, t = page_arrays(s, spec, size)
        canv.append(c)
        targ.append(t)
        cap.append(s.slices["capture"] == "photo")
    return {"canvas": np.stack(canv), "target": np.stack(targ), "photo": np.array(cap)}


def build_cache(out: Path, seed: int, n: int, spec: PreSpec, bank_path: Path, workers: int = 2,
                shard_size: int = 100, photo: bool | None = None, progress: bool = True, version: int = 1) -> Path:
    """Render `n` pages (seeds seed * 1_000_003 + i) of data `version` into npz shards; complete shards are
    kept (resumable)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = spec.long_side
    jobs = shard_jobs(out, seed, n, shard_size)
    args = [(s, spec, size, str(bank_path), photo, version) for _, s in jobs]
    render_shards(jobs, _shard, args, workers, f"render {out.name}", "page", progress)
    return out
