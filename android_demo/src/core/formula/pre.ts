/** Formula pre-processing, a port of pocketocr/tasks/formula/pre.py: page -> grey, long side resized, padded. */

import { type Raster, resize, toGrey } from "../pil";

export interface FormulaSpec {
  long_side: number;
  multiple: number;
  stride: number;
  mean: number;
  std: number;
  colour: string;
  pad_value: number;
  box_unit: number;
  shrink: number;
  classes: string;
}

export const DEFAULT_FORMULA_SPEC: FormulaSpec = {
  long_side: 1024, multiple: 32, stride: 4, mean: 0.5, std: 0.5, colour: "grey", pad_value: 255, box_unit: 8.0,
  shrink: 0.3, classes: "embedded,isolated",
};

const INT_KEYS = new Set(["long_side", "multiple", "stride", "pad_value"]);
const STR_KEYS = new Set(["colour", "classes"]);

export function formulaSpecFromMetadata(meta: Record<string, string>): FormulaSpec {
  const spec: Record<string, number | string> = { ...DEFAULT_FORMULA_SPEC };
  for (const key of Object.keys(DEFAULT_FORMULA_SPEC)) {
    const v = meta[`pre.${key}`];
    if (v === undefined) continue;
    spec[key] = STR_KEYS.has(key) ? v : INT_KEYS.has(key) ? parseInt(v, 10) : parseFloat(v);
  }
  return spec as unknown as FormulaSpec;
}

export interface PageMeta {
  scale: number;
  srcSize: [number, number];
  inSize: [number, number];
}

function pyRoundInt(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const padded = (n: number, m: number) => Math.max(m, Math.ceil(n / m) * m);

/** page_canvas: grey (H, W) uint8 canvas and its meta. BOX filter when shrinking, BILINEAR when enlarging. Also the
 * page in grey at its own size (the boxes snap to its ink: snapToInk). */
export function pageCanvas(img: Raster, spec: FormulaSpec): { canvas: Uint8Array; width: number; height: number; meta: PageMeta;
  grey: Uint8Array } {
  const { width: w, height: h } = img;
  const scale = spec.long_side / Math.max(w, h);
  const nw = Math.max(1, pyRoundInt(w * scale)), nh = Math.max(1, pyRoundInt(h * scale));
  const grey = toGrey(img);
  const small = resize(grey, nw, nh, scale < 1 ? "box" : "bilinear");
  const H = padded(nh, spec.multiple), W = padded(nw, spec.multiple);
  const canvas = new Uint8Array(H * W).fill(spec.pad_value);
  for (let y = 0; y < nh; y++) canvas.set(small.data.subarray(y * nw, (y + 1) * nw), y * W);
  return { canvas, width: W, height: H, meta: { scale, srcSize: [w, h], inSize: [nw, nh] }, grey: grey.data };
}

/** (H, W) uint8 -> (1, 1, H, W) float32 normalised input. */
export function formulaTensor(canvas: Uint8Array, spec: FormulaSpec): Float32Array {
  const f = Math.fround, mean = f(spec.mean), std = f(spec.std);
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = f(f(f(v / 255) - mean) / std);
  return Float32Array.from(canvas, (v) => lut[v]);
}
