/** Formula post-processing, a port of pocketocr/tasks/formula/post.py: core maps + box maps -> boxes. */

import { type FormulaSpec, type PageMeta } from "./pre";
import { meanF32, medianF64, pairwiseSumF32, pyRound } from "../num";

export interface FormulaDecodeConfig {
  threshold: number;
  min_score: number;
  min_cells: number;
  min_side: number;
  max_log: number;
  clamp: boolean;
  snap: boolean;
  snap_margin: number;
  snap_contrast: number;
}

export const DEFAULT_FORMULA_DECODE: FormulaDecodeConfig = {
  threshold: 0.45, min_score: 0.55, min_cells: 1, min_side: 2.0, max_log: 7.0, clamp: false,
  snap: true, snap_margin: 0.5, snap_contrast: 40,
};

export interface Detection {
  box: [number, number, number, number];
  kind: string;
  score: number;
}

/** 8-connected labels, numbered by first appearance in raster order (as label_components). */
export function labelComponents(mask: Uint8Array, h: number, w: number): { labels: Int32Array; n: number } {
  const labels = new Int32Array(h * w);
  let n = 0;
  const stack: number[] = [];
  for (let i = 0; i < h * w; i++) {
    if (!mask[i] || labels[i]) continue;
    n++;
    labels[i] = n;
    stack.push(i);
    while (stack.length) {
      const j = stack.pop()!;
      const r = (j / w) | 0, c = j % w;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr, cc = c + dc;
          if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
          const k = rr * w + cc;
          if (mask[k] && !labels[k]) {
            labels[k] = n;
            stack.push(k);
          }
        }
      }
    }
  }
  return { labels, n };
}

/**
 * Detector outputs -> formulas in source pixels, best score first (decode).
 * prob: (2, h, w) core probabilities; box: (4, h, w) log(distance / box_unit) to left, top, right, bottom.
 */
export function decodeFormulas(prob: Float32Array, boxMaps: Float32Array, h: number, w: number, meta: PageMeta,
  spec: FormulaSpec, cfg: FormulaDecodeConfig = DEFAULT_FORMULA_DECODE): Detection[] {
  const classes = spec.classes.split(",");
  const hv = Math.min(h, Math.ceil(meta.inSize[1] / spec.stride));
  const wv = Math.min(w, Math.ceil(meta.inSize[0] / spec.stride));
  const plane = h * w;
  const at = (maps: Float32Array, ch: number, r: number, c: number) => maps[ch * plane + r * w + c];
  const mask = new Uint8Array(hv * wv);
  for (let r = 0; r < hv; r++) for (let c = 0; c < wv; c++) {
    mask[r * wv + c] = Math.max(at(prob, 0, r, c), at(prob, 1, r, c)) > cfg.threshold ? 1 : 0;
  }
  const { labels, n } = labelComponents(mask, hv, wv);
  if (n === 0) return [];
  // cells per component in row-major order (np.nonzero, then a stable sort by label)
  const cells: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < hv * wv; i++) if (labels[i]) cells[labels[i] - 1].push(i);
  const s = spec.stride;
  const f = Math.fround, unit = f(spec.box_unit);
  const dist = (ch: number, r: number, c: number) => {
    const v = Math.min(Math.max(at(boxMaps, ch, r, c), -cfg.max_log), cfg.max_log);
    return f(f(Math.exp(f(v))) * unit);
  };
  const [wSrc, hSrc] = meta.srcSize;
  const out: Detection[] = [];
  for (let k = 0; k < n; k++) {
    const idx = cells[k];
    if (idx.length < cfg.min_cells) continue;
    const rr = idx.map((i) => (i / wv) | 0), cc = idx.map((i) => i % wv);
    const p0 = Float32Array.from(idx, (_, j) => at(prob, 0, rr[j], cc[j]));
    const p1 = Float32Array.from(idx, (_, j) => at(prob, 1, rr[j], cc[j]));
    const score = meanF32(p0.map((v, j) => Math.max(v, p1[j])));
    if (score < cfg.min_score) continue;
    const s0 = pairwiseSumF32(p0), s1 = pairwiseSumF32(p1);
    const kind = classes[s1 > s0 ? 1 : 0];
    const cmin = Math.min(...cc), cmax = Math.max(...cc);
    const x1s: number[] = [], x2s: number[] = [], y1s: number[] = [], y2s: number[] = [];
    idx.forEach((_, j) => {
      const cx = (cc[j] + 0.5) * s, cy = (rr[j] + 0.5) * s;
      if (cc[j] <= cmin + 1) x1s.push(cx - dist(0, rr[j], cc[j]));
      if (cc[j] >= cmax - 1) x2s.push(cx + dist(2, rr[j], cc[j]));
      y1s.push(cy - dist(1, rr[j], cc[j]));
      y2s.push(cy + dist(3, rr[j], cc[j]));
    });
    let bx1 = medianF64(x1s), bx2 = medianF64(x2s), by1 = medianF64(y1s), by2 = medianF64(y2s);
    if (cfg.clamp) {
      // an edge cannot lie further out than the core's shrink margin (plus a cell) from the component
      const m = spec.shrink * Math.max(1.0, Math.min(by2 - by1, bx2 - bx1)) + s;
      const rmin = Math.min(...rr), rmax = Math.max(...rr);
      bx1 = Math.max(bx1, cmin * s - m);
      bx2 = Math.min(bx2, (cmax + 1) * s + m);
      by1 = Math.max(by1, rmin * s - m);
      by2 = Math.min(by2, (rmax + 1) * s + m);
    }
    const sc = meta.scale;
    const x1 = Math.max(0.0, bx1 / sc), x2 = Math.min(wSrc, bx2 / sc);
    const y1 = Math.max(0.0, by1 / sc), y2 = Math.min(hSrc, by2 / sc);
    if (x2 - x1 < cfg.min_side || y2 - y1 < cfg.min_side) continue;
    out.push({ box: [pyRound(x1, 1), pyRound(y1, 1), pyRound(x2, 1), pyRound(y2, 1)], kind, score: pyRound(score, 4) });
  }
  // stable sort by score, descending (Python's sort on -score)
  return out.map((d, i) => [d, i] as const).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]).map(([d]) => d);
}

/** otsu_threshold: the first k splitting uint8 values into <= k and > k with the largest between-class variance
 * (exact integer sums in doubles and one IEEE division per k, as the Python side computes it). */
export function otsuThreshold(counts: Float64Array): number {
  let n = 0, total = 0;
  for (let v = 0; v < 256; v++) { n += counts[v]; total += counts[v] * v; }
  let n0 = 0, s0 = 0, best = -Infinity, bestK = 0;
  for (let k = 0; k < 256; k++) {
    n0 += counts[k];
    s0 += counts[k] * k;
    const d = total * n0 - n * s0, den = n0 * (n - n0);
    const v = den > 0 ? (d * d) / den : -1.0;
    if (v > best) { best = v; bestK = k; }
  }
  return bestK;
}

/**
 * snap_to_ink: shrink each box to the bounding box of the ink inside it, on the grey page (h, w) the boxes are in.
 * Ink is at or below the Otsu threshold of the box grown by snap_margin x its height; a box with too little
 * contrast around it, or fewer than 3 ink pixels in it, stays as decoded.
 */
export function snapToInk(found: Detection[], grey: Uint8Array, w: number, h: number,
  cfg: FormulaDecodeConfig = DEFAULT_FORMULA_DECODE): Detection[] {
  if (!cfg.snap) return found;
  return found.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const ix1 = Math.max(0, Math.floor(x1)), iy1 = Math.max(0, Math.floor(y1));
    const ix2 = Math.min(w, Math.ceil(x2)), iy2 = Math.min(h, Math.ceil(y2));
    const m = Math.max(2, Math.floor(cfg.snap_margin * (y2 - y1)));
    const wx1 = Math.max(0, ix1 - m), wy1 = Math.max(0, iy1 - m), wx2 = Math.min(w, ix2 + m), wy2 = Math.min(h, iy2 + m);
    if (ix2 <= ix1 || iy2 <= iy1 || wx2 <= wx1 || wy2 <= wy1) return d;
    const counts = new Float64Array(256);
    let lo = 255, hi = 0;
    for (let y = wy1; y < wy2; y++) for (let x = wx1; x < wx2; x++) {
      const v = grey[y * w + x];
      counts[v]++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo < cfg.snap_contrast) return d;
    const t = otsuThreshold(counts);
    let n = 0, cx1 = Infinity, cy1 = Infinity, cx2 = -1, cy2 = -1;
    for (let y = iy1; y < iy2; y++) for (let x = ix1; x < ix2; x++) {
      if (grey[y * w + x] > t) continue;
      n++;
      if (x < cx1) cx1 = x;
      if (x > cx2) cx2 = x;
      if (y < cy1) cy1 = y;
      if (y > cy2) cy2 = y;
    }
    if (n < 3) return d;
    return { box: [cx1, cy1, cx2 + 1, cy2 + 1], kind: d.kind, score: d.score };
  });
}
