/** Card reader, a port of CardReader.read / feed (pocketocr/tasks/card/predictor.py). */

import type { Raster } from "../pil";
import { pyRound } from "../num";
import { type CardSpec, type DetMeta, type FieldGeom, type Turn, belowGeoms, box, cropFields, cropTensor, detTensor, letterboxCanvas,
  lineGeom, quad, readGeoms, retryGeoms, turnedCanvases, turnToFrame, zoomCrop } from "./pre";
import { type DecodeConfig, DEFAULT_DECODE, type Detected, type Maps, type NumberChoice, type PieceReading, chooseExpiryAmong,
  chooseNumberLines, chooseRetriedNumber, ctcGreedy, expiryRetries, findFields, retryExpiries, selectFields, strongestLine,
  zoomRegion } from "./post";
import { brandOf, luhnValid } from "./rules";

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** Runs one model: input tensor -> first output. */
export type Runner = (input: Tensor) => Promise<Tensor>;

export interface FieldBox {
  box: [number, number, number, number];
  quad: [number, number][];
}

export interface CardResult {
  number: string | null;
  expiry: string | null;
  brand: string | null;
  luhn_valid: boolean;
  confidence: { number: number; expiry: number };
  needs_review: boolean;
  boxes: { number: FieldBox[]; expiry: FieldBox[] };
  timings_ms: { pre: number; infer: number; post: number; total: number };
}

/** What one detector + recogniser pass chose, and where its image sits in the frame (_Pass in predictor.py). */
interface Pass {
  choice: NumberChoice;
  used: PieceReading[];
  expiry: string | null;
  expConf: number;
  expPiece: PieceReading | null;
  sure: boolean; // number and expiry shown, neither needs review
  maps: Maps;
  meta: DetMeta;
  offset: [number, number];
  found: boolean; // the detector marked a number field
  pre: number; // ms
  infer: number;
  post: number;
}

/**
 * (the pass whose number is used, the pass whose expiry is used), as pick_passes in predictor.py: shown beats
 * withheld, then the higher confidence, ties to the later (zoomed) pass, whose number counts only at min_confidence.
 */
export function pickPasses<P extends Pick<Pass, "choice" | "expiry" | "expConf">>(passes: P[], minConfidence: number): [P, P] {
  const eligible = [passes[0], ...passes.slice(1).filter((p) => p.choice.number !== null && p.choice.confidence >= minConfidence)];
  let num = eligible[0], exp = passes[0];
  for (const p of eligible.slice(1)) {
    const a = [Number(p.choice.number !== null), p.choice.confidence], b = [Number(num.choice.number !== null), num.choice.confidence];
    if (a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1])) num = p;
  }
  for (const p of passes.slice(1)) {
    const a = [Number(p.expiry !== null), p.expConf], b = [Number(exp.expiry !== null), exp.expConf];
    if (a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1])) exp = p;
  }
  return [num, exp];
}

/**
 * The pass whose number is shown after the turned reads (pick_turned in predictor.py): among the turned passes showing
 * a number at `minConfidence` or more, the surest (the first of equals) whose number at least `votes` of them show,
 * its number flagged for review; else `num`.
 */
export function pickTurned<P extends Pick<Pass, "choice">>(num: P, turned: P[], minConfidence: number, votes: number): P {
  const shown = turned.filter((p) => p.choice.number !== null && p.choice.confidence >= minConfidence);
  const counts = new Map<string, number>();
  for (const p of shown) counts.set(p.choice.number!, (counts.get(p.choice.number!) ?? 0) + 1);
  let best: P | null = null;
  for (const p of shown) {
    if (counts.get(p.choice.number!)! < votes) continue;
    if (best === null || p.choice.confidence > best.choice.confidence) best = p;
  }
  return best === null ? num : { ...best, choice: { ...best.choice, needsReview: true } };
}

/** A person should check the result: no number, a number the decoder flags, or an unsure expiry (needs_review). */
function needsReviewOf(choice: NumberChoice, expiry: string | null, expConf: number, cfg: DecodeConfig): boolean {
  return choice.number === null || choice.needsReview || (expiry !== null && expConf < cfg.review_confidence);
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

export class CardReader {
  private history: CardResult[] = [];
  private frames = 0;

  /** `turnEvery` (video): the turned reads on one frame in this many (CardReader's turn_every). */
  constructor(private det: Runner, private rec: Runner, readonly spec: CardSpec,
    readonly config: DecodeConfig = DEFAULT_DECODE, readonly votesNeeded = 5, readonly turnEvery = 4) {}

  /**
   * Read one RGB frame (CardReader.read). When the first pass is not sure of both fields, a second pass reads the
   * square around what it marked (zoomRegion) and each field comes from the pass that is surer of it; with `turn`
   * false, no turned reads on this frame.
   */
  async read(img: Raster, turn = true): Promise<CardResult> {
    const spec = this.spec, cfg = this.config;
    const t0 = now();
    const passes = [await this.readPass(img, [0, 0])];
    const zbox = passes[0].sure || !cfg.zoom ? null : zoomRegion(passes[0].maps, passes[0].meta, spec, cfg);
    if (zbox) passes.push(await this.readPass(zoomCrop(img, zbox, spec), [zbox[0], zbox[1]]));
    let [num, exp] = pickPasses(passes, cfg.min_confidence);
    // no number shown, but something marked as one: the turned reads (a frame without a card costs none)
    if (turn && num.choice.number === null && cfg.turn_angles.length && passes.some((p) => p.found)) {
      const turned: Pass[] = [];
      for (const t of turnedCanvases(img, cfg.turn_angles, spec)) turned.push(await this.readPass(img, [0, 0], t));
      passes.push(...turned);
      num = pickTurned(num, turned, cfg.turn_confidence, cfg.turn_votes);
    }
    const choice = num.choice, expiry = exp.expiry, expConf = exp.expConf;
    const number = choice.number;
    const fb = (p: Pass, det: Detected): FieldBox => {
      const g = { ...det.geom, cx: det.geom.cx + p.offset[0], cy: det.geom.cy + p.offset[1] };
      return { box: box(g), quad: quad(g) };
    };
    const ms = (v: number) => Math.round(v * 1000) / 1000;
    const sum = (k: "pre" | "infer" | "post") => ms(passes.reduce((a, p) => a + p[k], 0));
    return {
      number, expiry, brand: number ? brandOf(number) : null, luhn_valid: Boolean(number && luhnValid(number)),
      confidence: { number: pyRound(choice.confidence, 4), expiry: pyRound(expConf, 4) },
      needs_review: needsReviewOf(choice, expiry, expConf, cfg),
      boxes: { number: num.used.map((p) => fb(num, p.det)), expiry: exp.expPiece ? [fb(exp, exp.expPiece.det)] : [] },
      timings_ms: { pre: sum("pre"), infer: sum("infer"), post: sum("post"), total: ms(now() - t0) },
    };
  }

  /** Detector, crops, recogniser and decoder over one image: the frame, or the zoomed square at `offset` in it. */
  private async readPass(img: Raster, offset: [number, number], turned?: { canvas: Uint8Array; turn: Turn }): Promise<Pass> {
    const spec = this.spec, cfg = this.config;
    const t0 = now();
    // with `turned` (one of turnedCanvases) the detector sees the frame turned and its fields are turned back
    let canvas: Uint8Array, meta: DetMeta, turn: Turn | null = null;
    if (turned === undefined) ({ canvas, meta } = letterboxCanvas(img, spec));
    else {
      ({ canvas, turn } = turned);
      meta = { scale: 1.0, srcSize: [spec.det_size, spec.det_size] };
    }
    const x = detTensor(canvas, spec);
    const t1 = now();
    const out = await this.det({ data: x, dims: [1, 3, spec.det_size, spec.det_size] });
    const t2 = now();
    const [, C, h, w] = out.dims;
    const maps: Maps = { data: out.data.subarray(0, C * h * w), channels: C, height: h, width: w };
    let fields = findFields(maps, meta, spec, cfg);
    if (turn) fields = fields.map((f) => ({ ...f, geom: turnToFrame(turn!, f.geom) }));
    const [lines, expiries] = selectFields(fields, cfg);
    const numbers = lines.flat();
    const first = await this.recognise(img, readGeoms(numbers.map((f) => f.geom), expiries.map((f) => f.geom), spec));
    let pre = (t1 - t0) + first.cut, infer = (t2 - t1) + first.infer;
    let k = 0;
    const lineReadings = lines.map((line) => line.map((f) => first.read(f, k++)));
    let [choice, used] = chooseNumberLines(lineReadings, spec.vocab, cfg);
    if (choice.number === null && lines.length && cfg.number_retry_extend > 0) {
      // no number to show: the strongest line once more as one longer crop
      const i = strongestLine(lines);
      const whole = await this.recognise(img, [lineGeom(lines[i].map((f) => f.geom), cfg.number_retry_extend)]);
      pre += whole.cut;
      infer += whole.infer;
      const picked = chooseRetriedNumber([whole.read(lines[i][0], 0)], spec.vocab, cfg);
      if (picked) [choice, used] = [picked[0], lineReadings[i]];
    }
    let expReadings = expiries.map((f, i) => first.read(f, numbers.length + i));
    const again = expiryRetries(expReadings, cfg);
    if (again.length) { // expiry fields that read no date: once more from a longer crop
      const longer = await this.recognise(img, retryGeoms(again.map((i) => expiries[i].geom), spec, cfg.expiry_retry_length));
      pre += longer.cut;
      infer += longer.infer;
      expReadings = retryExpiries(expReadings, new Map(again.map((i, j): [number, PieceReading] => [i, longer.read(expiries[i], j)])), cfg);
    }
    const still = cfg.expiry_below[0] > 0 ? expiryRetries(expReadings, cfg) : [];
    if (still.length) { // the detector may have marked a label above the date: read below the field
      const geoms = belowGeoms(still.map((i) => expiries[i].geom), spec, cfg.expiry_below[0], cfg.expiry_below[1],
        cfg.expiry_retry_length);
      const below = await this.recognise(img, geoms);
      pre += below.cut;
      infer += below.infer;
      expReadings = retryExpiries(expReadings, new Map(still.map((i, j): [number, PieceReading] =>
        [i, below.read({ ...expiries[i], geom: geoms[j] }, j)])), cfg);
    }
    const unused = lineReadings.flat().filter((r) => !used.includes(r));
    const [expiry, expConf, expPiece] = chooseExpiryAmong(expReadings, unused, cfg.min_expiry_confidence);
    const sure = expiry !== null && !needsReviewOf(choice, expiry, expConf, cfg);
    const total = now() - t0;
    return { choice, used, expiry, expConf, expPiece, sure, maps, meta, offset, found: lines.length > 0, pre, infer,
      post: total - pre - infer };
  }

  /**
   * The recogniser over the crops of `geoms` (_recognise): a reader of crop j as a field's PieceReading, and the ms
   * spent cutting the crops (pre-processing) and reading them (inference).
   */
  private async recognise(img: Raster, geoms: FieldGeom[]):
    Promise<{ read: (det: Detected, j: number) => PieceReading; cut: number; infer: number }> {
    const spec = this.spec;
    const t0 = now();
    const crops = cropFields(img, geoms, spec);
    const t1 = now();
    let probs: Tensor = { data: new Float32Array(0), dims: [0, 1, 1] };
    if (crops.length) probs = await this.rec({ data: cropTensor(crops), dims: [crops.length, 1, spec.rec_height, spec.rec_width] });
    const t2 = now();
    const [, T, K] = probs.dims;
    const read = (det: Detected, j: number): PieceReading =>
      ({ det, ...ctcGreedy(probs.data.subarray(j * T * K, (j + 1) * T * K), T, K, spec.vocab) });
    return { read, cut: t1 - t0, infer: t2 - t1 };
  }

  /** Video mode (CardReader.feed): the accepted result once `votesNeeded` frames agree on the number, else null. */
  async feed(img: Raster): Promise<{ accepted: CardResult | null; frame: CardResult }> {
    const result = await this.read(img, this.frames++ % Math.max(1, this.turnEvery) === 0);
    return { accepted: this.vote(result), frame: result };
  }

  /** The voting half of feed(), for a result already read. */
  vote(result: CardResult): CardResult | null {
    const maxlen = Math.max(8, 2 * this.votesNeeded);
    if (result.number !== null) {
      this.history.push(result);
      if (this.history.length > maxlen) this.history.shift();
    }
    const counts = new Map<string, number>();
    for (const r of this.history) counts.set(r.number!, (counts.get(r.number!) ?? 0) + 1);
    if (!counts.size) return null;
    let number = "", n = 0;
    for (const [k, v] of counts) if (v > n) [number, n] = [k, v];
    if (n < this.votesNeeded) return null;
    const agreeing = this.history.filter((r) => r.number === number);
    const exps = new Map<string, number>();
    for (const r of agreeing) if (r.expiry) exps.set(r.expiry, (exps.get(r.expiry) ?? 0) + 1);
    let expiry: string | null = null, ne = 0;
    for (const [k, v] of exps) if (v > ne) [expiry, ne] = [k, v];
    let best = agreeing[0];
    for (const r of agreeing) if (r.confidence.number > best.confidence.number) best = r;
    return {
      number, expiry, brand: best.brand, luhn_valid: best.luhn_valid,
      confidence: { number: n / this.history.length, expiry: expiry ? ne / agreeing.length : 0.0 },
      needs_review: !best.luhn_valid, boxes: best.boxes, timings_ms: result.timings_ms,
    };
  }

  /** Forget the frames voted so far (start a new card). */
  reset(): void {
    this.history = [];
    this.frames = 0;
  }
}
