/** Card pre-processing, a port of pocketocr/tasks/card/pre.py (letterbox, det tensor, field crop, crop tensor). */

import { type Raster, type Point, quadTransform, resize, toGrey } from "../pil";
import { medianF64, medianU8Trunc } from "../num";

export interface CardSpec {
  det_size: number;
  det_stride: number;
  det_mean: number;
  det_std: number;
  pad_value: number;
  rec_height: number;
  rec_width: number;
  vocab: string;
  height_unit: number;
  pad_y: number;
  pad_x: number;
  expiry_pad_x: number;
  field_shift: number; // cells the detector's fields sit up-left of the text (PreSpec.field_shift)
}

export const DEFAULT_CARD_SPEC: CardSpec = {
  det_size: 384, det_stride: 4, det_mean: 0.5, det_std: 0.5, pad_value: 128, rec_height: 32, rec_width: 384,
  vocab: "0123456789/", height_unit: 32.0, pad_y: 0.25, pad_x: 0.3,
  expiry_pad_x: 0.9, field_shift: 0.5,
};

/** PreSpec.from_metadata: `pre.*` keys of the model metadata override the defaults (typed as the defaults). */
export function cardSpecFromMetadata(meta: Record<string, string>): CardSpec {
  const spec: Record<string, number | string> = { ...DEFAULT_CARD_SPEC };
  for (const key of Object.keys(DEFAULT_CARD_SPEC)) {
    const v = meta[`pre.${key}`];
    if (v === undefined) continue;
    const def = (DEFAULT_CARD_SPEC as unknown as Record<string, unknown>)[key];
    if (typeof def === "string") spec[key] = v;
    else if (Number.isInteger(def) && key !== "height_unit" && key !== "det_mean" && key !== "det_std" && key !== "pad_y" && key !== "pad_x") spec[key] = parseInt(v, 10);
    else spec[key] = parseFloat(v);
  }
  return spec as unknown as CardSpec;
}

export interface DetMeta {
  scale: number; // input pixels per source pixel
  srcSize: [number, number]; // (width, height)
}

export interface FieldGeom {
  cx: number;
  cy: number;
  ux: number;
  uy: number;
  length: number;
  height: number;
}

/** Python round() of a float to an int: round half to even. */
function pyRoundInt(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function quad(g: FieldGeom): Point[] {
  const hl = g.length / 2, hh = g.height / 2;
  const nx = -g.uy, ny = g.ux;
  return [
    [g.cx - g.ux * hl - nx * hh, g.cy - g.uy * hl - ny * hh],
    [g.cx + g.ux * hl - nx * hh, g.cy + g.uy * hl - ny * hh],
    [g.cx + g.ux * hl + nx * hh, g.cy + g.uy * hl + ny * hh],
    [g.cx - g.ux * hl + nx * hh, g.cy - g.uy * hl + ny * hh],
  ];
}

export function box(g: FieldGeom): [number, number, number, number] {
  const q = quad(g);
  const xs = q.map((p) => p[0]), ys = q.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** Resize the long side to det_size (Pillow BILINEAR) and pad bottom/right: (S, S, 3) uint8 canvas. */
export function letterboxCanvas(img: Raster, spec: CardSpec): { canvas: Uint8Array; meta: DetMeta } {
  const s = spec.det_size;
  const { small, scale } = letterboxSmall(img, spec);
  const nw = small.width, nh = small.height;
  const canvas = new Uint8Array(s * s * 3).fill(spec.pad_value);
  for (let y = 0; y < nh; y++) canvas.set(small.data.subarray(y * nw * 3, (y + 1) * nw * 3), y * s * 3);
  return { canvas, meta: { scale, srcSize: [img.width, img.height] } };
}

/** The frame resized so that its long side is det_size (what the letterbox pads), and the scale (_letterbox_small). */
function letterboxSmall(img: Raster, spec: CardSpec): { small: Raster; scale: number } {
  const { width: w, height: h } = img;
  const scale = spec.det_size / Math.max(w, h);
  return { small: resize(img, Math.max(1, pyRoundInt(w * scale)), Math.max(1, pyRoundInt(h * scale)), "bilinear"), scale };
}

/**
 * Where a frame sits in a turned detector canvas (Turn in pre.py): turned by `angle` degrees, counter-clockwise on
 * screen, about its centre, shrunk by `scale`, its turned bounding box at the canvas's top left.
 */
export interface Turn {
  angle: number;
  scale: number; // canvas pixels per frame pixel
  srcSize: [number, number];
  boxSize: [number, number]; // the turned frame's bounding box in the canvas
}

const radians = (deg: number) => deg * (Math.PI / 180); // as Python's math.radians

/** A canvas point -> the same point of the frame (Turn.to_photo_point). */
export function turnToFramePoint(t: Turn, x: number, y: number): Point {
  const c = Math.cos(radians(t.angle)), s = Math.sin(radians(t.angle));
  const dx = (x - t.boxSize[0] / 2) / t.scale, dy = (y - t.boxSize[1] / 2) / t.scale;
  return [dx * c - dy * s + t.srcSize[0] / 2, dx * s + dy * c + t.srcSize[1] / 2];
}

/** A field found in the canvas (canvas pixels) -> the same field in the frame's pixels (Turn.to_photo). */
export function turnToFrame(t: Turn, g: FieldGeom): FieldGeom {
  const c = Math.cos(radians(t.angle)), s = Math.sin(radians(t.angle));
  const [x, y] = turnToFramePoint(t, g.cx, g.cy);
  return { cx: x, cy: y, ux: g.ux * c - g.uy * s, uy: g.ux * s + g.uy * c, length: g.length / t.scale, height: g.height / t.scale };
}

/**
 * The detector canvases of the frame turned by each of `angles` degrees (turned_canvases in pre.py): the letterbox's
 * resize of the frame, made once, turned and shrunk further so that the turned frame fits, into the canvas's top left,
 * each channel by one QUAD transform, the rest letterbox grey.
 */
export function turnedCanvases(img: Raster, angles: number[], spec: CardSpec): { canvas: Uint8Array; turn: Turn }[] {
  const S = spec.det_size;
  const { width: w, height: h } = img;
  const { small } = letterboxSmall(img, spec);
  const nw = small.width, nh = small.height;
  const bands = [0, 1, 2].map((ch) => {
    const band = new Uint8Array(nw * nh);
    for (let i = 0; i < nw * nh; i++) band[i] = small.data[i * 3 + ch];
    return { width: nw, height: nh, channels: 1, data: band } as Raster;
  });
  const kx = nw / w, ky = nh / h;
  return angles.map((angle) => {
    const c = Math.abs(Math.cos(radians(angle))), s = Math.abs(Math.sin(radians(angle)));
    const bw = w * c + h * s, bh = w * s + h * c;
    const scale = S / Math.max(bw, bh);
    const turn: Turn = { angle, scale, srcSize: [w, h], boxSize: [bw * scale, bh * scale] };
    const [ul, ll, lr, ur] = ([[0, 0], [0, S], [S, S], [S, 0]] as Point[]).map(([x, y]) => {
      const [px, py] = turnToFramePoint(turn, x, y);
      return [px * kx, py * ky] as Point;
    });
    const canvas = new Uint8Array(S * S * 3);
    bands.forEach((band, ch) => {
      const out = quadTransform(band, S, S, ul, ll, lr, ur, spec.pad_value).data;
      for (let i = 0; i < S * S; i++) canvas[i * 3 + ch] = out[i];
    });
    return { canvas, turn };
  });
}

/**
 * The RGB square `box` (x0, y0, x1, y1, integer source pixels) of the frame, filled with the letterbox grey
 * where it reaches past the frame's edges (zoom_crop in pre.py).
 */
export function zoomCrop(img: Raster, zbox: [number, number, number, number], spec: CardSpec): Raster {
  const [x0, y0, x1, y1] = zbox;
  const w = x1 - x0, h = y1 - y0;
  const data = new Uint8Array(w * h * 3).fill(spec.pad_value);
  const ix0 = Math.max(0, x0), iy0 = Math.max(0, y0), ix1 = Math.min(img.width, x1), iy1 = Math.min(img.height, y1);
  for (let y = iy0; y < iy1 && ix0 < ix1; y++) {
    const src = (y * img.width + ix0) * 3;
    data.set(img.data.subarray(src, src + (ix1 - ix0) * 3), ((y - y0) * w + (ix0 - x0)) * 3);
  }
  return { width: w, height: h, channels: 3, data };
}

/** (S, S, 3) uint8 -> (1, 3, S, S) float32, x = (v / 255 - mean) / std in float32 as numpy does. */
export function detTensor(canvas: Uint8Array, spec: CardSpec): Float32Array {
  const s = spec.det_size, n = s * s;
  const out = new Float32Array(3 * n);
  const f = Math.fround, mean = f(spec.det_mean), std = f(spec.det_std);
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = f(f(f(v / 255) - mean) / std);
  for (let i = 0; i < n; i++) {
    out[i] = lut[canvas[i * 3]];
    out[n + i] = lut[canvas[i * 3 + 1]];
    out[2 * n + i] = lut[canvas[i * 3 + 2]];
  }
  return out;
}

/** The source corners of a field's crop (ul, ll, lr, ur, as Pillow's QUAD wants them) and the crop width. */
function cropCorners(g: FieldGeom, spec: CardSpec): { corners: Point[]; outW: number; shrink: number } {
  const H = spec.rec_height, W = spec.rec_width;
  const hh = g.height * (0.5 + spec.pad_y);
  const hl = g.length / 2 + g.height * spec.pad_x;
  const outW = Math.trunc(Math.min(W, Math.max(8, pyRoundInt(((2 * hl) / (2 * hh)) * H))));
  const nx = -g.uy, ny = g.ux;
  const corners: Point[] = [
    [g.cx - g.ux * hl - nx * hh, g.cy - g.uy * hl - ny * hh],
    [g.cx - g.ux * hl + nx * hh, g.cy - g.uy * hl + ny * hh],
    [g.cx + g.ux * hl + nx * hh, g.cy + g.uy * hl + ny * hh],
    [g.cx + g.ux * hl - nx * hh, g.cy + g.uy * hl - ny * hh],
  ];
  return { corners, outW, shrink: (2 * hh) / H };
}

/** The source rows [y0, y1) that cropField reads for this field (so only they need converting to grey). */
export function cropRows(g: FieldGeom, spec: CardSpec): [number, number] {
  const { corners, shrink } = cropCorners(g, spec);
  const ys = corners.map((p) => p[1]);
  // bilinear taps, plus the pre-shrink's filter support and its window margin (in source pixels)
  const m = 4 + (shrink > 2.0 ? 5 * (shrink / 1.5) : 0);
  return [Math.floor(Math.min(...ys) - m), Math.ceil(Math.max(...ys) + m) + 1];
}

/** read_geoms in pre.py: number fields as detected, expiry fields lengthened to expiry_pad_x margins. */
export function readGeoms(numbers: FieldGeom[], expiries: FieldGeom[], spec: CardSpec): FieldGeom[] {
  const grow = spec.expiry_pad_x - spec.pad_x;
  return [...numbers, ...expiries.map((g) => ({ ...g, length: g.length + 2 * grow * g.height }))];
}

/**
 * The expiry fields' second crops (retry_geoms in pre.py): each at least `minHeights` field heights long about its
 * centre, plus the expiry margins of readGeoms.
 */
export function retryGeoms(expiries: FieldGeom[], spec: CardSpec, minHeights: number): FieldGeom[] {
  return readGeoms([], expiries.map((g) => ({ ...g, length: Math.max(g.length, minHeights * g.height) })), spec);
}

/**
 * Crops under expiry fields that read no date (below_geoms in pre.py): the detector often marks a label printed above
 * the date instead of the date. Each centre `down` field heights below the field's, `height` field heights tall, as
 * long as retryGeoms makes it.
 */
export function belowGeoms(expiries: FieldGeom[], spec: CardSpec, down: number, height: number,
  minHeights: number): FieldGeom[] {
  return readGeoms([], expiries.map((g) => ({
    ...g, cx: g.cx - g.uy * down * g.height, cy: g.cy + g.ux * down * g.height, height: g.height * height,
    length: Math.max(g.length, minHeights * g.height),
  })), spec);
}

/**
 * One field over a whole text line (line_geom in pre.py): the pieces' span along the longest piece's reading
 * direction, widened by `extend` field heights each end, at their mean position across it and median height.
 */
export function lineGeom(pieces: FieldGeom[], extend: number): FieldGeom {
  let longest = pieces[0]; // the reading direction: the longest piece's (the first of equals)
  for (const g of pieces) if (g.length > longest.length) longest = g;
  const { ux, uy } = longest;
  const along = pieces.map((g) => g.cx * ux + g.cy * uy);
  const height = medianF64(pieces.map((g) => g.height));
  let a0 = Infinity, a1 = -Infinity, across = 0;
  pieces.forEach((g, i) => {
    a0 = Math.min(a0, along[i] - g.length / 2);
    a1 = Math.max(a1, along[i] + g.length / 2);
    across += g.cy * ux - g.cx * uy;
  });
  a0 -= extend * height;
  a1 += extend * height;
  across /= pieces.length;
  const c = (a0 + a1) / 2;
  return { cx: c * ux - across * uy, cy: c * uy + across * ux, ux, uy, length: a1 - a0, height };
}

/**
 * _shrink_window in pre.py: pixels [x0, x1) x [y0, y1) of `grey` shrunk by (fx, fy) with BILINEAR, as the source
 * rows the window reads, then a horizontal-only and a vertical-only resize of them, each from its source box.
 */
function shrinkWindow(grey: Raster, x0: number, y0: number, x1: number, y1: number, fx: number, fy: number): Raster {
  const top = y0 / fy, bottom = Math.min(grey.height, y1 / fy);
  const reach = 1.0 / fy + 1.0;
  const r0 = Math.max(0, Math.floor(top - reach)), r1 = Math.min(grey.height, Math.ceil(bottom + reach));
  const rows: Raster = { width: grey.width, height: r1 - r0, channels: 1, data: grey.data.subarray(r0 * grey.width, r1 * grey.width) };
  const across = resize(rows, x1 - x0, r1 - r0, "bilinear", undefined, [x0 / fx, 0, Math.min(grey.width, x1 / fx), r1 - r0]);
  return resize(across, x1 - x0, y1 - y0, "bilinear", undefined, [0, top - r0, x1 - x0, bottom - r0]);
}

/** Cut an oriented field out of a grey image -> (rec_height, rec_width) uint8 (crop_field in pre.py). */
export function cropField(grey: Raster, g: FieldGeom, spec: CardSpec): Uint8Array {
  const H = spec.rec_height, W = spec.rec_width;
  let { corners, outW, shrink } = cropCorners(g, spec);
  let src = grey;
  if (shrink > 2.0) {
    // As crop_field in pre.py: only the window of the shrunk image that the QUAD samples (shrinkWindow).
    const fct = 1.0 / (shrink / 1.5);
    const sw = Math.max(1, pyRoundInt(grey.width * fct)), sh = Math.max(1, pyRoundInt(grey.height * fct));
    const fx = sw / grey.width, fy = sh / grey.height;
    corners = corners.map((p) => [p[0] * fx, p[1] * fy] as Point);
    const xs = corners.map((p) => p[0]), ys = corners.map((p) => p[1]);
    let x0 = Math.max(0, Math.floor(Math.min(...xs)) - 2), y0 = Math.max(0, Math.floor(Math.min(...ys)) - 2);
    const x1 = Math.min(sw, Math.ceil(Math.max(...xs)) + 3), y1 = Math.min(sh, Math.ceil(Math.max(...ys)) + 3);
    if (x0 < x1 && y0 < y1) {
      src = shrinkWindow(grey, x0, y0, x1, y1, fx, fy);
    } else { // the field lies wholly off the image: the QUAD samples nothing but the fill
      src = { width: 1, height: 1, channels: 1, data: new Uint8Array(1) };
      x0 = y0 = -1e6;
    }
    corners = corners.map((p) => [p[0] - x0, p[1] - y0] as Point);
  }
  const [ul, ll, lr, ur] = corners;
  const crop = quadTransform(src, outW, H, ul, ll, lr, ur);
  if (outW >= W) return crop.data;
  const fill = medianU8Trunc(crop.data);
  const out = new Uint8Array(H * W).fill(fill);
  for (let y = 0; y < H; y++) out.set(crop.data.subarray(y * outW, (y + 1) * outW), y * W);
  return out;
}

/**
 * Crops of several fields of an RGB frame (what CardReader.read feeds the recogniser). The frame is converted to
 * grey only over the rows the crops read: the same pixels as converting the whole frame, at a fraction of the cost.
 */
export function cropFields(img: Raster, geoms: FieldGeom[], spec: CardSpec): Uint8Array[] {
  if (!geoms.length) return [];
  const rows = geoms.map((g) => cropRows(g, spec));
  const grey = toGrey(img, Math.min(...rows.map((r) => r[0])), Math.max(...rows.map((r) => r[1])));
  return geoms.map((g) => cropField(grey, g, spec));
}

/** Stack crops into the recogniser input (N, 1, H, W) float32, normalised per crop: (x - mean) / max(std, 8). */
export function cropTensor(crops: Uint8Array[]): Float32Array {
  const per = crops.length ? crops[0].length : 0;
  const out = new Float32Array(crops.length * per);
  crops.forEach((c, k) => {
    let sum = 0;
    for (let i = 0; i < per; i++) sum += c[i];
    const mean = sum / per;
    let sq = 0;
    for (let i = 0; i < per; i++) sq += (c[i] - mean) ** 2;
    const std = Math.max(Math.sqrt(sq / per), 8.0);
    for (let i = 0; i < per; i++) out[k * per + i] = (c[i] - mean) / std;
  });
  return out;
}
