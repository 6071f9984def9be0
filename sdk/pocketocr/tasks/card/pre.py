"""Card pre-processing, pure numpy + Pillow: whole photo -> detector tensor, field geometry -> recogniser crop.

Training, calibration, the SDK and the golden vectors for the browser all call these functions, so
there is one definition of what the models see. Sizes come from the model's preprocessing spec.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from ..resample import resize_hv
from ..spec import MetadataSpec

__all__ = [
    "DetMeta",
    "FieldGeom",
    "PreSpec",
    "Turn",
    "below_geoms",
    "crop_field",
    "crop_tensor",
    "det_tensor",
    "geom_from_quad",
    "letterbox",
    "letterbox_canvas",
    "line_geom",
    "read_geoms",
    "retry_geoms",
    "turned_canvases",
    "zoom_crop",
]


@dataclass(frozen=True)
class PreSpec(MetadataSpec):
    """What the card models expect; read from the model metadata (see `PreSpec.from_metadata`)."""

    det_size: int = 384          # detector input is det_size x det_size RGB, letterboxed top-left
    det_stride: int = 4          # detector output cell size, in input pixels
    det_mean: float = 0.5        # x = (rgb / 255 - mean) / std
    det_std: float = 0.5
    pad_value: int = 128         # letterbox fill (grey)
    rec_height: int = 32         # recogniser crop is rec_height x rec_width grey
    rec_width: int = 384
    vocab: str = "0123456789/"   # CTC classes: blank (index 0) + vocab
    height_unit: float = 32.0    # detector height channel is field height / height_unit, in input pixels
    pad_y: float = 0.25          # crop margins as a fraction of the field height, each side
    pad_x: float = 0.3
    # Expiry crops get wider side margins: the detector's blobs for the short expiry field come out short
    # or shifted and cut digits off ("/27" for "06/27"). 0.9 was chosen on the synthetic validation sets.
    expiry_pad_x: float = 0.9
    # Where the detector's fields sit against the text, in cells along both image axes: detectors trained
    # on filled-and-outlined targets (v1-v6, training/card/data.py `det_target`) mark each field half a cell
    # up and left of it, and `find_fields` moves it back (+3.3 / +3.9 pt number exact, docs/export.md).
    # Files without the key are such detectors; ones trained on centre-line targets carry 0.
    field_shift: float = 0.5


@dataclass(frozen=True)
class DetMeta:
    scale: float                 # input pixels per source pixel
    src_size: tuple[int, int]    # (width, height) of the source image


@dataclass(frozen=True)
class FieldGeom:
    """An oriented text field in source pixels: centre, reading direction, length and height."""

    cx: float
    cy: float
    ux: float                    # unit reading direction (ux, uy); "down" is (-uy, ux)
    uy: float
    length: float
    height: float

    def quad(self) -> list[tuple[float, float]]:
        """Corners tl, tr, br, bl in source pixels."""
        hl, hh = self.length / 2, self.height / 2
        nx, ny = -self.uy, self.ux
        return [(self.cx - self.ux * hl - nx * hh, self.cy - self.uy * hl - ny * hh),
                (self.cx + self.ux * hl - nx * hh, self.cy + self.uy * hl - ny * hh),
                (self.cx + self.ux * hl + nx * hh, self.cy + self.uy * hl + ny * hh),
                (self.cx - self.ux * hl + nx * hh, self.cy - self.uy * hl + ny * hh)]

    def box(self) -> tuple[float, float, float, float]:
        """Axis-aligned box (x1, y1, x2, y2) around the field."""
        q = np.asarray(self.quad())
        return (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()))

    def shifted(self, dx: float, dy: float) -> FieldGeom:
        return replace(self, cx=self.cx + dx, cy=self.cy + dy)

    def flipped(self) -> FieldGeom:
        return FieldGeom(self.cx, self.cy, -self.ux, -self.uy, self.length, self.height)


def _rgb(img: Image.Image) -> Image.Image:
    return img if img.mode == "RGB" else img.convert("RGB")  # convert() copies even an RGB image


def letterbox_canvas(img: Image.Image, spec: PreSpec) -> tuple[np.ndarray, DetMeta]:
    """Resize the long side to det_size and pad bottom/right: (S, S, 3) uint8 and the scale."""
    s = spec.det_size
    small, scale = _letterbox_small(img, spec)
    nw, nh = small.size
    canvas = np.full((s, s, 3), spec.pad_value, np.uint8)
    canvas[:nh, :nw] = np.asarray(small)
    return canvas, DetMeta(scale, img.size)


@dataclass(frozen=True)
class Turn:
    """Where a photo sits in a turned detector canvas (`turned_canvases`): turned by `angle` degrees, counter-clockwise
    on screen, about its centre, shrunk by `scale`, its turned bounding box at the canvas's top left."""

    angle: float
    scale: float                   # canvas pixels per photo pixel
    src_size: tuple[int, int]      # (width, height) of the photo
    box_size: tuple[float, float]  # the turned photo's bounding box in the canvas

    def to_photo_point(self, x: float, y: float) -> tuple[float, float]:
        """A canvas point -> the same point of the photo (y down: turning counter-clockwise on screen by a sends
        (x, y) about the centre to (x cos a + y sin a, -x sin a + y cos a))."""
        c, s = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        dx, dy = (x - self.box_size[0] / 2) / self.scale, (y - self.box_size[1] / 2) / self.scale
        return dx * c - dy * s + self.src_size[0] / 2, dx * s + dy * c + self.src_size[1] / 2

    def to_photo(self, g: FieldGeom) -> FieldGeom:
        """A field found in the canvas (canvas pixels) -> the same field in the photo's pixels."""
        c, s = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        x, y = self.to_photo_point(g.cx, g.cy)
        return FieldGeom(x, y, g.ux * c - g.uy * s, g.ux * s + g.uy * c, g.length / self.scale, g.height / self.scale)


def _letterbox_small(img: Image.Image, spec: PreSpec) -> tuple[Image.Image, float]:
    """The photo resized so that its long side is det_size (what the letterbox pads), and the scale."""
    w, h = img.size
    scale = spec.det_size / max(w, h)
    return resize_hv(_rgb(img), (max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR), scale


def turned_canvases(img: Image.Image, angles: Sequence[float], spec: PreSpec) -> list[tuple[np.ndarray, Turn]]:
    """The detector canvases of the photo turned by each of `angles` degrees (counter-clockwise on screen): the
    letterbox's resize of the photo, made once, turned and shrunk further so that the turned photo fits, into the
    canvas's top left, each channel by one QUAD transform (the browser port has the single-channel one), the rest
    letterbox grey. The reader's retry for a card held tilted past what the detector learnt (±20 degrees)."""
    S = spec.det_size
    w, h = img.size
    small, _ = _letterbox_small(img, spec)
    bands = small.split()
    kx, ky = small.width / w, small.height / h  # photo pixels -> small pixels
    out = []
    for angle in angles:
        c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
        bw, bh = w * c + h * s, w * s + h * c
        scale = S / max(bw, bh)
        turn = Turn(float(angle), scale, (w, h), (bw * scale, bh * scale))
        # QUAD takes the source points of the output's corners: upper-left, lower-left, lower-right, upper-right
        corners = [turn.to_photo_point(x, y) for x, y in ((0, 0), (0, S), (S, S), (S, 0))]
        data = tuple(v for x, y in corners for v in (x * kx, y * ky))
        turned = [b.transform((S, S), Image.QUAD, data, Image.BILINEAR, fillcolor=spec.pad_value) for b in bands]
        out.append((np.stack([np.asarray(b, np.uint8) for b in turned], axis=-1), turn))
    return out


def zoom_crop(img: Image.Image, box: tuple[int, int, int, int], spec: PreSpec) -> Image.Image:
    """The RGB square `box` (x0, y0, x1, y1, integer source pixels) of the photo; where it reaches past the
    photo's edges it is filled with the letterbox grey, so the second read sees the card where it is."""
    x0, y0, x1, y1 = box
    w, h = img.size
    out = Image.new("RGB", (x1 - x0, y1 - y0), (spec.pad_value,) * 3)
    inner = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
    if inner[0] < inner[2] and inner[1] < inner[3]:
        out.paste(_rgb(img).crop(inner), (inner[0] - x0, inner[1] - y0))
    return out


def det_tensor(canvases: np.ndarray, spec: PreSpec) -> np.ndarray:
    """(N, S, S, 3) uint8 -> (N, 3, S, S) float32 normalised detector input."""
    x = (canvases.astype(np.float32) / 255.0 - spec.det_mean) / spec.det_std
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def letterbox(img: Image.Image, spec: PreSpec) -> tuple[np.ndarray, DetMeta]:
    """RGB PIL image -> (1, 3, S, S) float32 detector input and the scale to map results back."""
    canvas, meta = letterbox_canvas(img, spec)
    return det_tensor(canvas[None], spec), meta


def _shrink_window(gray: Image.Image, win: tuple[int, int, int, int], fx: float, fy: float) -> Image.Image:
    """Pixels [x0, x1) x [y0, y1) of `gray` shrunk by (fx, fy) with BILINEAR: the source rows the window
    reads, then a horizontal-only and a vertical-only resize of them, each from its source box."""
    x0, y0, x1, y1 = win
    top, bottom = y0 / fy, min(gray.height, y1 / fy)
    reach = 1.0 / fy + 1.0  # the vertical filter's support in source rows, and one for rounding
    r0, r1 = max(0, math.floor(top - reach)), min(gray.height, math.ceil(bottom + reach))
    rows = gray.crop((0, r0, gray.width, r1))
    across = rows.resize((x1 - x0, r1 - r0), Image.BILINEAR, box=(x0 / fx, 0, min(gray.width, x1 / fx), r1 - r0))
    return across.resize((x1 - x0, y1 - y0), Image.BILINEAR, box=(0, top - r0, x1 - x0, bottom - r0))


def crop_field(gray: Image.Image, g: FieldGeom, spec: PreSpec) -> np.ndarray:
    """Cut an oriented field out of a greyscale image -> (rec_height, rec_width) uint8.

    The field plus margins is resampled to rec_height rows keeping its aspect ratio, squeezed only when
    it would be wider than rec_width, and padded on the right with the crop's median grey.
    """
    H, W = spec.rec_height, spec.rec_width
    hh = g.height * (0.5 + spec.pad_y)
    hl = g.length / 2 + g.height * spec.pad_x
    out_w = int(min(W, max(8, round(2 * hl / (2 * hh) * H))))
    nx, ny = -g.uy, g.ux
    # PIL QUAD wants the source corners upper-left, lower-left, lower-right, upper-right.
    ul = (g.cx - g.ux * hl - nx * hh, g.cy - g.uy * hl - ny * hh)
    ll = (g.cx - g.ux * hl + nx * hh, g.cy - g.uy * hl + ny * hh)
    lr = (g.cx + g.ux * hl + nx * hh, g.cy + g.uy * hl + ny * hh)
    ur = (g.cx + g.ux * hl - nx * hh, g.cy + g.uy * hl - ny * hh)
    # Downsampling by a large factor aliases with QUAD's bilinear sampling: pre-shrink the source first.
    shrink = (2 * hh) / H
    src = gray
    if shrink > 2.0:
        f = 1.0 / (shrink / 1.5)
        sw, sh = max(1, round(gray.width * f)), max(1, round(gray.height * f))
        fx, fy = sw / gray.width, sh / gray.height
        corners = [(p[0] * fx, p[1] * fy) for p in (ul, ll, lr, ur)]
        # Only the window of the shrunk image that QUAD samples, computed as the two passes of a resize, each
        # its own single-axis call: a whole-photo shrink cost more than the rest of the read on a 12 MP photo,
        # and one two-axis call may run its passes in either order (Pillow 13 picks by shape), which pre.ts
        # could not follow. Within one grey level of shrinking the whole photo.
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        x0, x1 = max(0, math.floor(min(xs)) - 2), min(sw, math.ceil(max(xs)) + 3)
        y0, y1 = max(0, math.floor(min(ys)) - 2), min(sh, math.ceil(max(ys)) + 3)
        if x0 < x1 and y0 < y1:
            src = _shrink_window(gray, (x0, y0, x1, y1), fx, fy)
        else:  # the field lies wholly off the photo: QUAD samples nothing but the fill
            src, x0, y0 = Image.new("L", (1, 1)), -10**6, -10**6
        ul, ll, lr, ur = [(p[0] - x0, p[1] - y0) for p in corners]
    crop = src.transform((out_w, H), Image.QUAD, (*ul, *ll, *lr, *ur), Image.BILINEAR)
    arr = np.asarray(crop, np.uint8)
    if out_w < W:
        arr = np.concatenate([arr, np.full((H, W - out_w), int(np.median(arr)), np.uint8)], axis=1)
    return arr


def read_geoms(numbers: list[FieldGeom], expiries: list[FieldGeom], spec: PreSpec) -> list[FieldGeom]:
    """The geometry the recogniser's crops are cut from: number fields as detected, expiry fields lengthened
    so that crop_field leaves them `expiry_pad_x` field heights of margin each side instead of `pad_x`."""
    grow = spec.expiry_pad_x - spec.pad_x
    return numbers + [replace(g, length=g.length + 2 * grow * g.height) for g in expiries]


def retry_geoms(expiries: list[FieldGeom], spec: PreSpec, min_heights: float) -> list[FieldGeom]:
    """The expiry fields' second crops (`DecodeConfig.expiry_retry_length`): each at least `min_heights` field
    heights long about its centre, plus the expiry margins of `read_geoms`. The detector's blob for a date often
    covers only part of it ("/27" of "06/27"), off centre, so the retry reaches well past both ends."""
    return read_geoms([], [replace(g, length=max(g.length, min_heights * g.height)) for g in expiries], spec)


def below_geoms(expiries: list[FieldGeom], spec: PreSpec, down: float, height: float,
                min_heights: float) -> list[FieldGeom]:
    """Crops under expiry fields that read no date (`DecodeConfig.expiry_below`): the detector often marks a
    label printed above the date ("EXPIRES" over "09/15") instead of the date. Each crop's centre is `down`
    field heights below the field's, `height` field heights tall, and as long as `retry_geoms` makes it."""
    below = [replace(g, cx=g.cx - g.uy * down * g.height, cy=g.cy + g.ux * down * g.height, height=g.height * height,
                     length=max(g.length, min_heights * g.height)) for g in expiries]  # "down" is (-uy, ux)
    return read_geoms([], below, spec)


def line_geom(pieces: list[FieldGeom], extend: float) -> FieldGeom:
    """One field over a whole text line: the pieces' span along the longest piece's reading direction (a short
    piece's direction is the least sure: on a real card a 2-digit piece read 25 degrees off), widened by
    `extend` field heights each end, at their mean position across it and their median height
    (`DecodeConfig.number_retry_extend`)."""
    longest = max(pieces, key=lambda g: g.length)  # the first of equals, as the app's port
    ux, uy = longest.ux, longest.uy
    along = [g.cx * ux + g.cy * uy for g in pieces]
    height = float(np.median([g.height for g in pieces]))
    a0 = min(a - g.length / 2 for a, g in zip(along, pieces)) - extend * height
    a1 = max(a + g.length / 2 for a, g in zip(along, pieces)) + extend * height
    across = float(np.mean([g.cy * ux - g.cx * uy for g in pieces]))
    c = (a0 + a1) / 2
    return FieldGeom(c * ux - across * uy, c * uy + across * ux, ux, uy, a1 - a0, height)


def crop_tensor(crops: list[np.ndarray]) -> np.ndarray:
    """Stack uint8 crops into the recogniser input (N, 1, H, W) float32, normalised per crop."""
    x = np.stack(crops).astype(np.float32)[:, None]
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = x.std(axis=(1, 2, 3), keepdims=True)
    return (x - mean) / np.maximum(std, 8.0)


def geom_from_quad(quad) -> FieldGeom:
    """Field geometry of a labelled quad (tl, tr, br, bl)."""
    q = np.asarray(quad, np.float64)
    top, bottom = q[1] - q[0], q[2] - q[3]
    u = top + bottom
    n = np.linalg.norm(u)
    ux, uy = (u / n) if n > 0 else (1.0, 0.0)
    length = (np.linalg.norm(top) + np.linalg.norm(bottom)) / 2
    height = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    c = q.mean(0)
    return FieldGeom(float(c[0]), float(c[1]), float(ux), float(uy), float(length), float(max(height, 1.0)))


def angle_deg(g: FieldGeom) -> float:
    return math.degrees(math.atan2(g.uy, g.ux))
