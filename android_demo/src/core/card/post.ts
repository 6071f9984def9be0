/** Card post-processing, a port of pocketocr/tasks/card/post.py: detector maps -> fields; CTC -> number, expiry. */

import { type CardSpec, type DetMeta, type FieldGeom } from "./pre";
import { luhnValid, parseExpiry, plausibleNumber, printedGrouping } from "./rules";
import { argsort, meanF32, medianF32, medianF64, pairwiseSumF64 } from "../num";

export interface DecodeConfig {
  field_threshold: number;
  expiry_threshold: number;
  min_cells: number;
  min_field_score: number;
  max_substitutions: number;
  alt_ratio: number;
  min_confidence: number;
  min_repair_confidence: number;
  review_confidence: number;
  max_number_pieces: number;
  max_stray_chars: number;
  min_expiry_confidence: number;
  zoom: boolean;
  zoom_threshold: number;
  zoom_margin: number;
  zoom_max_side: number;
  axis_ratio: number;
  expiry_retry_length: number;
  expiry_retry_confidence: number;
  expiry_below: number[]; // [down, height] in field heights: the crop under an expiry field that read no date
  number_retry_extend: number;
  number_retry_confidence: number;
  turn_angles: number[]; // the frame read turned by each, when no other read shows a number
  turn_confidence: number;
  turn_votes: number;
}

export const DEFAULT_DECODE: DecodeConfig = {
  field_threshold: 0.5, expiry_threshold: 0.5, min_cells: 3, min_field_score: 0.6, max_substitutions: 2, alt_ratio: 0.05,
  min_confidence: 0.45, min_repair_confidence: 0.45, review_confidence: 0.85, max_number_pieces: 6,
  max_stray_chars: 3, min_expiry_confidence: 0.5, zoom: true, zoom_threshold: 0.3, zoom_margin: 0.25,
  zoom_max_side: 0.85, axis_ratio: 4.0, expiry_retry_length: 6.5, expiry_retry_confidence: 0.8,
  expiry_below: [1.8, 1.4], number_retry_extend: 1.5, number_retry_confidence: 0.6,
  turn_angles: [6.0, -6.0, 15.0, -15.0, 30.0, -30.0], turn_confidence: 0.45, turn_votes: 2,
};

export interface Detected {
  kind: "number" | "expiry";
  geom: FieldGeom;
  score: number;
}

/** A (C, h, w) float32 map stack. */
export interface Maps {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** 8-connected components as tasks/components.py gives them: in the raster order of their first cell, each one's cells in raster order. */
function components(mask: Uint8Array, h: number, w: number): [number, number][][] {
  const seen = new Uint8Array(h * w);
  const comps: [number, number][][] = [];
  for (let r0 = 0; r0 < h; r0++) {
    for (let c0 = 0; c0 < w; c0++) {
      if (!mask[r0 * w + c0] || seen[r0 * w + c0]) continue;
      const stack: [number, number][] = [[r0, c0]];
      const pts: [number, number][] = [];
      seen[r0 * w + c0] = 1;
      while (stack.length) {
        const [r, c] = stack.pop()!;
        pts.push([r, c]);
        for (let dr = -1; dr <= 1; dr++) {
          for (let dc = -1; dc <= 1; dc++) {
            const rr = r + dr, cc = c + dc;
            if (rr >= 0 && rr < h && cc >= 0 && cc < w && mask[rr * w + cc] && !seen[rr * w + cc]) {
              seen[rr * w + cc] = 1;
              stack.push([rr, cc]);
            }
          }
        }
      }
      pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      comps.push(pts);
    }
  }
  return comps;
}

/**
 * The principal axis of a blob's cells weighted by probability, pointing the way `direction` reads; `direction`
 * itself when the blob is not `ratio` times longer (in variance) than it is thick (_cell_axis).
 */
function cellAxis(pts: [number, number][], p: Float32Array, direction: [number, number], ratio: number): [number, number] {
  let total = 0;
  for (let k = 0; k < pts.length; k++) total += p[k];
  let mc = 0, mr = 0;
  pts.forEach(([r, c], k) => {
    mc += c * (p[k] / total);
    mr += r * (p[k] / total);
  });
  let sxx = 0, syy = 0, sxy = 0;
  pts.forEach(([r, c], k) => {
    const x = c - mc, y = r - mr, w = p[k] / total;
    sxx += x * x * w;
    syy += y * y * w;
    sxy += x * y * w;
  });
  const mean = (sxx + syy) / 2, half = Math.hypot((sxx - syy) / 2, sxy);
  if (half <= 0 || mean + half <= ratio * Math.max(mean - half, 1e-9)) return direction;
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  let ax = Math.cos(angle), ay = Math.sin(angle);
  if (ax * direction[0] + ay * direction[1] < 0) {
    ax = -ax;
    ay = -ay;
  }
  return [ax, ay];
}

/** Detector output (5, h, w) -> fields in source pixels (find_fields). */
export function findFields(maps: Maps, meta: DetMeta, spec: CardSpec, cfg: DecodeConfig = DEFAULT_DECODE): Detected[] {
  const out: Detected[] = [];
  const { height: h, width: w, data } = maps;
  const plane = h * w;
  const stride = spec.det_stride;
  const f = Math.fround;
  for (const [ch, kind] of [[0, "number"], [1, "expiry"]] as const) {
    const off = ch * plane;
    const thr = kind === "number" ? cfg.field_threshold : cfg.expiry_threshold;
    const mask = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) mask[i] = data[off + i] > thr ? 1 : 0;
    for (const pts of components(mask, h, w)) {
      if (pts.length < cfg.min_cells) continue;
      const idx = pts.map(([r, c]) => r * w + c);
      const p = Float32Array.from(idx, (i) => data[off + i]);
      // float32 dot products (BLAS order may differ by an ulp; the geometry is compared with a tolerance)
      let d0 = 0, d1 = 0;
      idx.forEach((i, k) => {
        d0 += data[3 * plane + i] * p[k];
        d1 += data[4 * plane + i] * p[k];
      });
      d0 = f(d0);
      d1 = f(d1);
      // numpy: d is a float32 pair, so its norm and the unit direction are float32 too
      const nrm = f(Math.hypot(d0, d1));
      let [ux, uy] = nrm > 1e-6 ? [f(d0 / nrm), f(d1 / nrm)] : [1.0, 0.0];
      // three cells say little about an axis
      if (cfg.axis_ratio > 0 && pts.length >= 4) [ux, uy] = cellAxis(pts, p, [ux, uy], cfg.axis_ratio);
      let height = medianF32(Float32Array.from(idx, (i) => data[2 * plane + i])) * spec.height_unit;
      height = Math.max(height, stride * 0.75);
      const along = new Float64Array(pts.length);
      const across = new Float64Array(pts.length);
      pts.forEach(([r, c], k) => {
        const x = (c + 0.5) * stride, y = (r + 0.5) * stride;
        along[k] = x * ux + y * uy;
        across[k] = x * -uy + y * ux;
      });
      for (const part of splitStacked(across, p, height, stride)) {
        if (part.length < cfg.min_cells) continue;
        const pp = Float32Array.from(part, (k) => p[k]);
        const score = meanF32(pp);
        if (score < (cfg.min_field_score * thr) / 0.5) continue;
        let a0 = Infinity, a1 = -Infinity;
        for (const k of part) {
          if (along[k] < a0) a0 = along[k];
          if (along[k] > a1) a1 = along[k];
        }
        a0 -= stride / 2;
        a1 += stride / 2;
        const cAlong = (a0 + a1) / 2;
        const wsum = pairwiseSumF64(Float64Array.from(pp));
        const cAcross = pairwiseSumF64(Float64Array.from(part, (k, j) => across[k] * pp[j])) / wsum;
        // where the detector's fields sit against the text (PreSpec.field_shift, from the model metadata)
        const cx = cAlong * ux - cAcross * uy + spec.field_shift * stride;
        const cy = cAlong * uy + cAcross * ux + spec.field_shift * stride;
        const s = meta.scale;
        out.push({ kind, geom: { cx: cx / s, cy: cy / s, ux, uy, length: (a1 - a0) / s, height: height / s }, score });
      }
    }
  }
  return out;
}

/**
 * The square (x0, y0, x1, y1) in source pixels around every cell of either field channel above zoom_threshold,
 * widened by zoom_margin of its side each way; null when fewer than min_cells cells are marked or the square's side
 * is zoom_max_side of the frame's long side or more (zoom_region in post.py).
 */
export function zoomRegion(maps: Maps, meta: DetMeta, spec: CardSpec, cfg: DecodeConfig = DEFAULT_DECODE): [number, number, number, number] | null {
  const { height: h, width: w, data } = maps;
  const plane = h * w;
  const thr = Math.fround(cfg.zoom_threshold); // numpy compares float32 maps with a float32 threshold
  let n = 0, r0 = Infinity, r1 = -Infinity, c0 = Infinity, c1 = -Infinity;
  for (let i = 0; i < plane; i++) {
    if (!(data[i] > thr || data[plane + i] > thr)) continue;
    const r = Math.floor(i / w), c = i % w;
    n++;
    r0 = Math.min(r0, r); r1 = Math.max(r1, r); c0 = Math.min(c0, c); c1 = Math.max(c1, c);
  }
  if (n < cfg.min_cells) return null;
  const cell = spec.det_stride / meta.scale;
  const x0 = c0 * cell, x1 = (c1 + 1) * cell, y0 = r0 * cell, y1 = (r1 + 1) * cell;
  const side = Math.max(x1 - x0, y1 - y0) * (1 + 2 * cfg.zoom_margin);
  if (side >= cfg.zoom_max_side * Math.max(...meta.srcSize)) return null;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const left = Math.floor(cx - side / 2), top = Math.floor(cy - side / 2), k = Math.ceil(side);
  return [left, top, left + k, top + k];
}

/** Cell indices of each text line in one blob of stacked number lines (split_stacked; see post.py for why). */
export function splitStacked(across: Float64Array, p: Float32Array, height: number, stride: number,
  depth = 0.85): number[][] {
  const everything = [Array.from(across, (_, k) => k)];
  let lo = Infinity;
  for (const v of across) lo = Math.min(lo, v);
  const bins = Array.from(across, (v) => Math.floor((v - lo) / stride + 0.5));
  const n = Math.max(...bins) + 1;
  const span = height / stride;
  if (n < 1.9 * span) return everything;
  const prof = new Float64Array(n);
  bins.forEach((b, k) => { prof[b] += p[k]; });
  const reach = Math.max(1, Math.floor(span + 0.5));
  const cuts: number[] = [];
  const maxOf = (a: number, b: number) => { let m = -Infinity; for (let i = a; i < b; i++) m = Math.max(m, prof[i]); return m; };
  for (let i = 1; i < n - 1; i++) {
    if (!(prof[i] <= prof[i - 1] && prof[i] <= prof[i + 1])) continue;
    const side = Math.min(maxOf(Math.max(0, i - reach), i), maxOf(i + 1, Math.min(n, i + 1 + reach)));
    if (prof[i] < depth * side && i >= 0.6 * span && n - 1 - i >= 0.6 * span
      && (cuts.length === 0 || i - cuts[cuts.length - 1] >= 0.9 * span)) cuts.push(i);
  }
  if (cuts.length === 0) return everything;
  const edges = [-1, ...cuts, n];
  const parts: number[][] = [];
  for (let j = 0; j + 1 < edges.length; j++) {
    const part: number[] = [];
    bins.forEach((b, k) => { if (b > edges[j] && b < edges[j + 1]) part.push(k); });
    parts.push(part);
  }
  return parts;
}

/**
 * The fields a pass reads (select_fields): number pieces as lines, the max_number_pieces with the largest
 * score x length only, and the three surest expiry fields (several dates may be printed: VALID FROM / THRU).
 */
export function selectFields(fields: Detected[], cfg: DecodeConfig = DEFAULT_DECODE): [Detected[][], Detected[]] {
  const numbers = fields.filter((f) => f.kind === "number").sort((a, b) => -a.score * a.geom.length - -b.score * b.geom.length);
  const expiries = fields.filter((f) => f.kind === "expiry").sort((a, b) => -a.score - -b.score).slice(0, 3);
  return [groupLines(numbers.slice(0, cfg.max_number_pieces)), expiries];
}

/** Number pieces grouped into text lines, top to bottom relative to the text, each left to right (group_lines). */
export function groupLines(fields: Detected[]): Detected[][] {
  if (!fields.length) return [];
  // one reading direction for all pieces, their mean weighted by length (group_lines: a short stray piece at
  // another angle must not split a tilted line in two)
  let ux = 0, uy = 0;
  for (const x of fields) {
    ux += x.geom.ux * x.geom.length;
    uy += x.geom.uy * x.geom.length;
  }
  const n = Math.hypot(ux, uy) || 1.0;
  ux /= n;
  uy /= n;
  const h = medianF64(fields.map((x) => x.geom.height));
  const acrossOf = (x: Detected) => x.geom.cx * -uy + x.geom.cy * ux;
  const keyed = [...fields].sort((a, b) => acrossOf(a) - acrossOf(b));
  const lines: Detected[][] = [];
  for (const x of keyed) {
    const across = acrossOf(x);
    if (lines.length && Math.abs(across - acrossOf(lines[lines.length - 1][0])) < 0.6 * h) lines[lines.length - 1].push(x);
    else lines.push([x]);
  }
  const alongOf = (x: Detected) => x.geom.cx * ux + x.geom.cy * uy;
  return lines.map((line) => [...line].sort((a, b) => alongOf(a) - alongOf(b)));
}

/** Number pieces in reading order (order_lines). */
export function orderLines(fields: Detected[]): Detected[] {
  return groupLines(fields).flat();
}

/** One detected number piece and what the recogniser read in it (PieceReading). */
export interface PieceReading {
  det: Detected;
  text: string;
  confs: number[];
  dists: Float32Array[];
}

/** Python tuple comparison of (bool, bool, bool, number, number) keys. */
function keyGreater(a: (boolean | number)[], b: (boolean | number)[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]), y = Number(b[i]);
    if (x !== y) return x > y;
  }
  return false;
}

/** (pieces left out at the start, at the end) of a run of lines (_stray_options). */
function strayOptions(run: PieceReading[], first: number, last: number, maxChars: number): [number, number][] {
  const out: [number, number][] = [[0, 0]];
  if (maxChars <= 0) return out;
  for (let a = 0; a < Math.min(first, 3); a++) {
    for (let b = 0; b < Math.min(last, 3); b++) {
      const left = [...run.slice(0, a), ...run.slice(run.length - b)];
      if ((a || b) && a + b < run.length && left.every((p) => p.text.length <= maxChars)) out.push([a, b]);
    }
  }
  return out;
}

/** The number among runs of 1..maxStack consecutive lines, short stray end pieces left out (choose_number_lines). */
export function chooseNumberLines(lines: PieceReading[][], vocab: string, cfg: DecodeConfig = DEFAULT_DECODE,
  maxStack = 4): [NumberChoice, PieceReading[]] {
  let best: [(boolean | number)[], NumberChoice, PieceReading[]] | null = null;
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j <= Math.min(lines.length, i + maxStack); j++) {
      const run = lines.slice(i, j).flat();
      for (const [a, b] of strayOptions(run, lines[i].length, lines[j - 1].length, cfg.max_stray_chars)) {
        const pieces = run.slice(a, run.length - b);
        const text = pieces.map((p) => p.text).join("");
        const confs = pieces.flatMap((p) => p.confs);
        const dists = pieces.flatMap((p) => p.dists);
        const choice = chooseNumber(text, confs, dists, vocab, cfg);
        const score = (pairwiseSumF64(pieces.map((p) => p.det.score)) / pieces.length) * choice.confidence;
        const shown = choice.number !== null;
        // shown, then Luhn-valid, then in its brand's printed grouping, then fewer lines, then fewer pieces left out,
        // then repaired > sure (as choose_number_lines)
        const luhnOk = shown && !choice.repaired && luhnValid(choice.number ?? "");
        const grouped = luhnOk && printedGrouping(choice.number ?? "", pieces.map((p) => p.text.length));
        const key = [shown, luhnOk, grouped, -(j - i), -(a + b), shown && choice.repaired, score];
        if (best === null || keyGreater(key, best[0])) best = [key, choice, pieces];
      }
    }
  }
  if (best === null) return [{ number: null, confidence: 0.0, repaired: false, needsReview: true }, []];
  return [best[1], best[2]];
}

export interface Greedy {
  text: string;
  confs: number[];
  dists: Float32Array[];
}

/** Best-path CTC decode of (T, C) probabilities, class 0 = blank (ctc_greedy). */
export function ctcGreedy(probs: Float32Array, T: number, C: number, vocab: string): Greedy {
  const text: string[] = [], confs: number[] = [], dists: Float32Array[] = [];
  let prev = 0;
  for (let t = 0; t < T; t++) {
    let k = 0, best = -Infinity;
    for (let c = 0; c < C; c++) {
      const v = probs[t * C + c];
      if (v > best) {
        best = v;
        k = c;
      }
    }
    if (k !== 0 && k !== prev) {
      text.push(vocab[k - 1]);
      confs.push(probs[t * C + k]);
      dists.push(probs.slice(t * C, (t + 1) * C));
    } else if (k !== 0 && k === prev && probs[t * C + k] > confs[confs.length - 1]) {
      confs[confs.length - 1] = probs[t * C + k];
      dists[dists.length - 1] = probs.slice(t * C, (t + 1) * C);
    }
    prev = k;
  }
  return { text: text.join(""), confs, dists };
}

type HeapItem = [number, string, number, number]; // (-score, text, start, nsub), compared as a Python tuple

function tupleLess(a: HeapItem, b: HeapItem): boolean {
  if (a[0] !== b[0]) return a[0] < b[0];
  if (a[1] !== b[1]) return a[1] < b[1];
  if (a[2] !== b[2]) return a[2] < b[2];
  return a[3] < b[3];
}

class MinHeap {
  items: HeapItem[] = [];
  push(x: HeapItem) {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!tupleLess(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): HeapItem {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && tupleLess(a[l], a[m])) m = l;
        if (r < a.length && tupleLess(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
  get length() {
    return this.items.length;
  }
}

/** Greedy text plus variants with up to `maxSubs` substitutions at the least certain characters (ctc_candidates). */
export function ctcCandidates(text: string, confs: number[], dists: Float32Array[], vocab: string, maxSubs: number,
  limit = 64): [string, number][] {
  if (!text) return [];
  const order = argsort(confs).slice(0, Math.max(1, Math.min(confs.length, 6)));
  const options: [number, [string, number][]][] = [];
  for (const i of order) {
    const dist = dists[i];
    const alts: [string, number][] = [];
    for (const k of argsort(dist).reverse().slice(0, 3)) {
      if (k === 0 || vocab[k - 1] === text[i]) continue;
      alts.push([vocab[k - 1], dist[k] / Math.max(confs[i], 1e-9)]);
    }
    options.push([i, alts]);
  }
  const cands = new Map<string, number>([[text, 1.0]]);
  const frontier = new MinHeap();
  frontier.push([-1.0, text, 0, 0]);
  while (frontier.length && cands.size < limit) {
    const [neg, t, start, nsub] = frontier.pop();
    if (nsub >= maxSubs) continue;
    for (let j = start; j < options.length; j++) {
      const [pos, alts] = options[j];
      for (const [ch, ratio] of alts) {
        const nt = t.slice(0, pos) + ch + t.slice(pos + 1);
        const score = -neg * ratio;
        if (!cands.has(nt) && score > 1e-4) {
          cands.set(nt, score);
          frontier.push([-score, nt, j + 1, nsub + 1]);
        }
      }
    }
  }
  return [...cands.entries()].sort((a, b) => b[1] - a[1]);
}

export interface NumberChoice {
  number: string | null;
  confidence: number;
  repaired: boolean;
  needsReview: boolean;
}

/** Pick the number from the recogniser's candidates with the Luhn and length rules (choose_number). */
export function chooseNumber(text: string, confsIn: number[], distsIn: Float32Array[], vocab: string,
  cfg: DecodeConfig = DEFAULT_DECODE): NumberChoice {
  const keep: number[] = [];
  for (let i = 0; i < text.length; i++) if (text[i] >= "0" && text[i] <= "9") keep.push(i);
  const digits = keep.map((i) => text[i]).join("");
  const confs = keep.map((i) => confsIn[i]);
  const dists = keep.map((i) => distsIn[i]);
  if (!digits) return { number: null, confidence: 0.0, repaired: false, needsReview: true };
  const conf = Math.min(...confs);
  if (luhnValid(digits) && plausibleNumber(digits)) {
    const ok = conf >= cfg.min_confidence;
    return { number: ok ? digits : null, confidence: conf, repaired: false, needsReview: conf < cfg.review_confidence || !ok };
  }
  const cands = ctcCandidates(digits, confs, dists, vocab, cfg.max_substitutions);
  for (const [cand, ratio] of cands.slice(1)) {
    if (ratio < cfg.alt_ratio) break;
    if (/^[0-9]+$/.test(cand) && luhnValid(cand) && plausibleNumber(cand)) {
      // Never invent a number: an unsure repair is withheld (as choose_number).
      const shown = conf * ratio >= cfg.min_repair_confidence;
      return { number: shown ? cand : null, confidence: conf * ratio, repaired: shown, needsReview: true };
    }
  }
  const sure = conf >= cfg.review_confidence && plausibleNumber(digits);
  return { number: sure ? digits : null, confidence: conf, repaired: false, needsReview: true };
}

/**
 * Normalise the recognised expiry to MM/YY, or null (choose_expiry). A field box often takes in the end of
 * its label ("THRU 09/27" read as "109/27"): then the date is the two digits either side of the last slash.
 */
export function chooseExpiry(text: string, confs: number[]): [string | null, number] {
  const value = parseExpiry(text);
  if (value !== null) return [value, confs.length ? Math.min(...confs) : 0.0];
  for (let i = text.length - 3; i > 1; i--) {
    if (text[i] === "/" && i + 3 <= text.length) {
      const v = parseExpiry(text.slice(i - 2, i + 3));
      if (v !== null) return [v, Math.min(...confs.slice(i - 2, i + 3))];
    }
  }
  return [null, 0.0];
}

/**
 * The expiry among the dates read on the card (choose_expiry_among): "expiry" fields first, then number
 * pieces that read as a slashed MM/YY; among several valid dates the latest (YY, MM) wins; a date read below
 * minConfidence is not a date.
 */
export function chooseExpiryAmong(expiryFields: PieceReading[], otherPieces: PieceReading[],
  minConfidence = 0.0): [string | null, number, PieceReading | null] {
  for (const [group, needSlash] of [[expiryFields, false], [otherPieces, true]] as const) {
    let best: [string, string, number, PieceReading] | null = null; // (key, value, conf, piece)
    for (const p of group) {
      const [value, conf] = chooseExpiry(p.text, p.confs);
      if (value !== null && conf >= minConfidence && (!needSlash || p.text.includes("/"))) {
        const key = value.slice(3) + value.slice(0, 2); // (YY, MM) as one comparable string
        if (best === null || key > best[0]) best = [key, value, conf, p];
      }
    }
    if (best) return [best[1], best[2], best[3]];
  }
  return [null, 0.0, null];
}

/** Which expiry fields to read again from a longer crop: those whose reading holds no MM/YY date (expiry_retries). */
export function expiryRetries(readings: PieceReading[], cfg: DecodeConfig = DEFAULT_DECODE): number[] {
  if (cfg.expiry_retry_length <= 0) return [];
  const out: number[] = [];
  readings.forEach((r, i) => {
    if (chooseExpiry(r.text, r.confs)[0] === null) out.push(i);
  });
  return out;
}

/** Each retried field's second reading in place of the first where its date is read at expiry_retry_confidence (retry_expiries). */
export function retryExpiries(readings: PieceReading[], retried: Map<number, PieceReading>,
  cfg: DecodeConfig = DEFAULT_DECODE): PieceReading[] {
  const out = [...readings];
  for (const [i, again] of retried) {
    const [value, conf] = chooseExpiry(again.text, again.confs);
    if (value !== null && conf >= cfg.expiry_retry_confidence) out[i] = again;
  }
  return out;
}

/** The index of the number line with the most detector evidence: the sum of its pieces' score x length (strongest_line). */
export function strongestLine(lines: Detected[][]): number {
  let best = 0, bestKey = -Infinity;
  lines.forEach((line, i) => {
    const key = line.reduce((a, f) => a + f.score * f.geom.length, 0);
    if (key > bestKey) [best, bestKey] = [i, key];
  });
  return best;
}

/**
 * The number among the whole-line second readings, and which line (choose_retried_number): the most confident
 * reading that is Luhn-valid and of a possible length as read, at number_retry_confidence or more; always flagged.
 */
export function chooseRetriedNumber(readings: PieceReading[], vocab: string,
  cfg: DecodeConfig = DEFAULT_DECODE): [NumberChoice, number] | null {
  let best: [NumberChoice, number] | null = null;
  readings.forEach((r, i) => {
    const choice = chooseNumber(r.text, r.confs, r.dists, vocab, cfg);
    if (choice.number !== null && !choice.repaired && luhnValid(choice.number)
      && choice.confidence >= cfg.number_retry_confidence && (best === null || choice.confidence > best[0].confidence)) {
      best = [{ number: choice.number, confidence: choice.confidence, repaired: false, needsReview: true }, i];
    }
  });
  return best;
}
