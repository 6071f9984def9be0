/**
 * The browser's pre/post-processing against the Python SDK's golden vectors (scripts/golden.py).
 * Each stage starts from the Python output of the stage before, so a failure names the stage.
 *
 * Tolerances (documented in README.md): uint8 images (letterbox canvas, grey, crops, formula canvas) must be
 * identical; float32 tensors within 1e-5 (the detector tensor is bit-identical, the recogniser tensor is
 * normalised in float64 here and in float32 by numpy); field geometry within 1e-4 relative (numpy's BLAS dot
 * products sum in another order); decoded results (number, expiry, confidences, review flag, boxes, kinds,
 * scores) must be identical.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cardSpecFromMetadata, cropField, cropFields, cropTensor, detTensor, letterboxCanvas, turnedCanvases, turnToFrame, zoomCrop,
  type FieldGeom } from "../src/core/card/pre";
import { chooseExpiry, chooseExpiryAmong, chooseNumber, chooseNumberLines, ctcCandidates, ctcGreedy, findFields, orderLines, zoomRegion,
  type PieceReading } from "../src/core/card/post";
import { CardReader, type Tensor } from "../src/core/card/reader";
import { formulaSpecFromMetadata, formulaTensor, pageCanvas } from "../src/core/formula/pre";
import { DEFAULT_FORMULA_DECODE, decodeFormulas, snapToInk } from "../src/core/formula/post";
import { toGrey, type Raster } from "../src/core/pil";
import { BRANDS } from "../src/core/card/rules";

const dir = process.env.GOLDEN_DIR!;
const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
const cardSpec = cardSpecFromMetadata(index.card_spec);
const formulaSpec = formulaSpecFromMetadata(index.formula_spec);

interface Arr { file: string; dtype: string; shape: number[] }
function load(a: Arr): Uint8Array | Float32Array {
  const buf = readFileSync(join(dir, a.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return a.dtype === "uint8" ? new Uint8Array(ab) : new Float32Array(ab);
}
const rgb = (c: { image: Arr; width: number; height: number }): Raster =>
  ({ width: c.width, height: c.height, channels: 3, data: load(c.image) as Uint8Array });

function countDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function meanAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m += Math.abs(a[i] - b[i]);
  return m / Math.max(1, a.length);
}
function expectGeom(a: FieldGeom, b: FieldGeom) {
  for (const k of ["cx", "cy", "ux", "uy", "length", "height"] as const) {
    expect(Math.abs(a[k] - b[k])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(b[k])));
  }
}
const cases = (kind: string) => index.cases.filter((c: { kind: string }) => c.kind === kind);

describe("card pre-processing", () => {
  if (!cases("card").length) it.skip("no card image cases: the golden vectors were made without card models", () => {});
  for (const c of cases("card")) {
    it(`${c.name}: letterbox canvas and detector tensor`, () => {
      const { canvas, meta } = letterboxCanvas(rgb(c), cardSpec);
      expect(meta.scale).toBe(c.scale);
      expect(countDiff(canvas, load(c.canvas))).toBe(0);
      expect(maxAbs(detTensor(load(c.canvas) as Uint8Array, cardSpec), load(c.det_in))).toBe(0);
    });
    it(`${c.name}: grey, crops (detected and labelled fields) and recogniser tensor`, () => {
      const grey = toGrey(rgb(c));
      expect(countDiff(grey.data, load(c.grey))).toBe(0);
      const per = cardSpec.rec_height * cardSpec.rec_width;
      const labelled = load(c.label_crops);
      c.label_geoms.forEach((g: FieldGeom, i: number) => {
        expect(countDiff(cropField(grey, g, cardSpec), labelled.subarray(i * per, (i + 1) * per))).toBe(0);
      });
      if (!c.crops) return;
      const golden = load(c.crops) as Uint8Array;
      const crops = c.crop_geoms.map((g: FieldGeom) => cropField(grey, g, cardSpec));
      crops.forEach((cr: Uint8Array, i: number) => expect(countDiff(cr, golden.subarray(i * per, (i + 1) * per))).toBe(0));
      // the reader's path: grey over only the crops' rows, windowed pre-shrink
      const fast = cropFields(rgb(c), c.crop_geoms, cardSpec);
      fast.forEach((cr: Uint8Array, i: number) => expect(countDiff(cr, golden.subarray(i * per, (i + 1) * per))).toBe(0));
      expect(maxAbs(cropTensor(crops), load(c.rec_in))).toBeLessThan(1e-5);
      if (c.number_retry) {  // the whole-line crops read when no number could be shown
        const whole = load(c.number_retry.crops) as Uint8Array;
        cropFields(rgb(c), c.number_retry.crop_geoms, cardSpec).forEach((cr: Uint8Array, i: number) =>
          expect(countDiff(cr, whole.subarray(i * per, (i + 1) * per))).toBe(0));
      }
      if (c.retry) {  // the longer second crops of expiry fields that read no date
        const retried = load(c.retry.crops) as Uint8Array;
        cropFields(rgb(c), c.retry.crop_geoms, cardSpec).forEach((cr: Uint8Array, i: number) =>
          expect(countDiff(cr, retried.subarray(i * per, (i + 1) * per))).toBe(0));
      }
      if (!c.below) return;  // the crops below expiry fields that still read no date
      const below = load(c.below.crops) as Uint8Array;
      cropFields(rgb(c), c.below.crop_geoms, cardSpec).forEach((cr: Uint8Array, i: number) =>
        expect(countDiff(cr, below.subarray(i * per, (i + 1) * per))).toBe(0));
    });
    it(`${c.name}: zoom region and zoomed square`, () => {
      const maps = load(c.maps) as Float32Array;
      const region = zoomRegion({ data: maps, channels: c.maps.shape[1], height: c.maps.shape[2], width: c.maps.shape[3] },
        { scale: c.scale, srcSize: [c.width, c.height] }, cardSpec);
      expect(region).toEqual(c.zoom_region);
      if (!c.zoom) return;
      const zoomed = zoomCrop(rgb(c), c.zoom.box, cardSpec);
      expect([zoomed.width, zoomed.height]).toEqual([c.zoom.width, c.zoom.height]);
      expect(countDiff(zoomed.data, load(c.zoom.image))).toBe(0);
      const { canvas, meta } = letterboxCanvas(zoomed, cardSpec);
      expect(meta.scale).toBe(c.zoom.scale);
      expect(countDiff(canvas, load(c.zoom.canvas))).toBe(0);
    });
    it(`${c.name}: turned canvases, and the turned passes' fields turned back into the photo`, () => {
      const fixed = turnedCanvases(rgb(c), c.turned.map((t: { turn: { angle: number } }) => t.turn.angle), cardSpec);
      c.turned.forEach((t: { canvas: Arr; turn: { scale: number; box_size: number[] }; probe: FieldGeom; probe_in_photo: FieldGeom },
        i: number) => {
        const { canvas, turn } = fixed[i];
        expect(turn.scale).toBe(t.turn.scale);
        expect(turn.boxSize[0]).toBeCloseTo(t.turn.box_size[0], 9);
        expect(turn.boxSize[1]).toBeCloseTo(t.turn.box_size[1], 9);
        expect(countDiff(canvas, load(t.canvas))).toBe(0);
        expectGeom(turnToFrame(turn, t.probe), t.probe_in_photo);
      });
      for (const p of c.turns) {
        const [{ canvas, turn }] = turnedCanvases(rgb(c), [p.turn.angle], cardSpec);
        expect(countDiff(canvas, load(p.canvas))).toBe(0);
        const maps = load(p.maps) as Float32Array;
        const fields = findFields({ data: maps, channels: p.maps.shape[1], height: p.maps.shape[2], width: p.maps.shape[3] },
          { scale: 1.0, srcSize: [cardSpec.det_size, cardSpec.det_size] }, cardSpec);
        expect(fields.length).toBe(p.fields.length);
        fields.forEach((f, i) => {
          expectGeom(f.geom, p.canvas_fields[i].geom);
          expectGeom(turnToFrame(turn, f.geom), p.fields[i].geom);
        });
      }
    });
    it(`${c.name}: the whole read on the Python model outputs gives the SDK's CardResult`, async () => {
      const maps = load(c.maps) as Float32Array;
      const fields = findFields({ data: maps, channels: c.maps.shape[1], height: c.maps.shape[2], width: c.maps.shape[3] },
        { scale: c.scale, srcSize: [c.width, c.height] }, cardSpec);
      expect(fields.map((f) => f.kind)).toEqual(c.fields.map((f: { kind: string }) => f.kind));
      fields.forEach((f, i) => {
        expect(f.score).toBe(c.fields[i].score);
        expectGeom(f.geom, c.fields[i].geom);
      });
      // replay the models from the golden outputs, pass by pass (the zoomed pass second, the turned ones last): the reader must reach
      // the SDK's result
      const passes = [c, ...(c.zoom ? [c.zoom] : []), ...c.turns];
      let detCalls = 0;
      const det = async (): Promise<Tensor> => {
        const p = passes[detCalls++];
        return { data: load(p.maps) as Float32Array, dims: p.maps.shape };
      };
      // the reader's own crops (expiry fields widened by readGeoms) must be the SDK's recogniser input; its
      // geometry comes from the TS findFields (equal within 1e-4), which may move a crop pixel by one grey level
      const recPasses = passes.flatMap((p) => [...(p.probs ? [p] : []), ...(p.number_retry ? [p.number_retry] : []),
        ...(p.retry ? [p.retry] : []), ...(p.below ? [p.below] : [])]);
      let recCalls = 0;
      const rec = async (t: Tensor): Promise<Tensor> => {
        const p = recPasses[recCalls++];
        expect(meanAbs(t.data, load(p.rec_in))).toBeLessThan(1e-3);
        return { data: load(p.probs) as Float32Array, dims: p.probs.shape };
      };
      const r = await new CardReader(det, rec, cardSpec).read(rgb(c));
      expect(detCalls).toBe(passes.length);
      expect(recCalls).toBe(recPasses.length);
      const want = c.result;
      expect(r.number).toBe(want.number);
      expect(r.expiry).toBe(want.expiry);
      expect(r.brand).toBe(want.brand);
      expect(r.luhn_valid).toBe(want.luhn_valid);
      expect(r.needs_review).toBe(want.needs_review);
      expect(r.confidence).toEqual(want.confidence);
      expect(r.boxes.number.length).toBe(want.boxes.number.length);
      expect(r.boxes.expiry.length).toBe(want.boxes.expiry.length);
    });
    if (c.turns.length) it(`${c.name}: no turned reads on a frame read with turn = false`, async () => {
      const passes = [c, ...(c.zoom ? [c.zoom] : [])];
      let detCalls = 0, recCalls = 0;
      const det = async (): Promise<Tensor> => {
        const p = passes[detCalls++];
        return { data: load(p.maps) as Float32Array, dims: p.maps.shape };
      };
      const recPasses = passes.flatMap((p) => [...(p.probs ? [p] : []), ...(p.number_retry ? [p.number_retry] : []),
        ...(p.retry ? [p.retry] : []), ...(p.below ? [p.below] : [])]);
      const rec = async (): Promise<Tensor> => {
        const p = recPasses[recCalls++];
        return { data: load(p.probs) as Float32Array, dims: p.probs.shape };
      };
      const r = await new CardReader(det, rec, cardSpec).read(rgb(c), false);
      expect([detCalls, recCalls]).toEqual([passes.length, recPasses.length]);
      expect(r.number).toBe(null);  // the turned reads run only when no unturned read shows a number
    });
  }
});

describe("card video mode", () => {
  it("feed() asks for the turned reads on one frame in turnEvery", async () => {
    const none = async (): Promise<Tensor> => { throw new Error("not read"); };
    const reader = new CardReader(none, none, cardSpec);
    const asked: boolean[] = [];
    reader.read = async (_img: Raster, turn = true) => {
      asked.push(turn);
      return { number: null, expiry: null, brand: null, luhn_valid: false, confidence: { number: 0, expiry: 0 },
        needs_review: true, boxes: { number: [], expiry: [] }, timings_ms: { pre: 0, infer: 0, post: 0, total: 0 } };
    };
    const frame: Raster = { width: 1, height: 1, channels: 3, data: new Uint8Array(3) };
    for (let i = 0; i < 6; i++) await reader.feed(frame);
    reader.reset();
    await reader.feed(frame);
    expect(asked).toEqual([true, false, false, false, true, false, true]);
  });
});

describe("card decoding on synthetic outputs", () => {
  for (const c of cases("det_decode")) {
    it(`${c.name}: fields and reading order`, () => {
      const [C, h, w] = c.maps.shape;
      const fields = findFields({ data: load(c.maps) as Float32Array, channels: C, height: h, width: w },
        { scale: c.scale, srcSize: c.src_size }, { ...cardSpec, field_shift: c.field_shift });
      expect(fields.map((f) => f.kind)).toEqual(c.fields.map((f: { kind: string }) => f.kind));
      fields.forEach((f, i) => {
        expect(f.score).toBe(c.fields[i].score);
        expectGeom(f.geom, c.fields[i].geom);
      });
      const ordered = orderLines(fields.filter((f) => f.kind === "number"));
      ordered.forEach((f, i) => expectGeom(f.geom, c.ordered[i]));
    });
  }
  for (const c of cases("ctc")) {
    it(`${c.name}: CTC, candidates, Luhn choice and expiry`, () => {
      const [T, C] = c.probs.shape;
      const g = ctcGreedy(load(c.probs) as Float32Array, T, C, cardSpec.vocab);
      expect(g.text).toBe(c.text);
      expect(g.confs).toEqual(c.confs);
      expect(ctcCandidates(g.text, g.confs, g.dists, cardSpec.vocab, 2)).toEqual(c.candidates);
      const ch = chooseNumber(g.text, g.confs, g.dists, cardSpec.vocab);
      expect({ number: ch.number, confidence: ch.confidence, repaired: ch.repaired, needs_review: ch.needsReview }).toEqual(c.number);
      expect(chooseExpiry(g.text, g.confs)).toEqual(c.expiry);
    });
  }
  it("the brand table (IIN ranges, lengths, printed groupings) is rules.py's", () => {
    expect(BRANDS.map((b) => ({ name: b.name, ranges: b.ranges, lengths: b.lengths,
      groupings: Object.fromEntries(Object.entries(b.groupings)) }))).toEqual(index.brands);
  });
  for (const c of cases("lines")) {
    it(`${c.name}: the number among runs of lines, the expiry among dates`, () => {
      const [N, T, C] = c.probs.shape;
      const all = load(c.probs) as Float32Array;
      const geom = { cx: 100, cy: 100, ux: 1, uy: 0, length: 200, height: 20 };
      const flat: PieceReading[] = [];
      for (let i = 0; i < N; i++) {
        flat.push({ det: { kind: "number", geom, score: c.scores[i] }, ...ctcGreedy(all.subarray(i * T * C, (i + 1) * T * C), T, C, cardSpec.vocab) });
      }
      let k = 0;
      const lines = c.line_sizes.map((n: number) => flat.slice(k, (k += n)));
      const exps = flat.slice(k);
      const [choice, used] = chooseNumberLines(lines, cardSpec.vocab);
      expect({ number: choice.number, confidence: choice.confidence, repaired: choice.repaired, needs_review: choice.needsReview }).toEqual(c.number);
      expect(used.map((u) => flat.indexOf(u))).toEqual(c.used);
      const unused = lines.flat().filter((x: PieceReading) => !used.includes(x));
      const [value, conf, piece] = chooseExpiryAmong(exps, unused);
      expect([value, conf]).toEqual(c.expiry);
      expect(piece ? flat.indexOf(piece) : null).toEqual(c.expiry_piece);
    });
  }
});

describe("formula pre- and post-processing", () => {
  for (const c of cases("page")) {
    it(`${c.name}: grey canvas and tensor`, () => {
      const spec = c.spec ? formulaSpecFromMetadata(c.spec) : formulaSpec;
      const { canvas, width, height, meta, grey } = pageCanvas(rgb(c), spec);
      expect([1, height, width]).toEqual(c.canvas.shape.length === 2 ? [1, ...c.canvas.shape] : c.canvas.shape);
      expect(meta.inSize).toEqual(c.in_size);
      expect(countDiff(canvas, load(c.canvas))).toBe(0);
      expect(maxAbs(formulaTensor(canvas, spec), load(c.det_in))).toBe(0);
      if (c.prob) {
        const [, , h, w] = c.prob.shape;
        const got = decodeFormulas(load(c.prob) as Float32Array, load(c.box) as Float32Array, h, w, meta, spec);
        expect(got.map((d) => [...d.box, d.kind, d.score])).toEqual(c.boxes);
        const snapped = snapToInk(got, grey, c.width, c.height);
        expect(snapped.map((d) => [...d.box, d.kind, d.score])).toEqual(c.snapped);
        expect(snapped.filter((d, i) => d.box.some((v, j) => v !== got[i].box[j])).length).toBeGreaterThan(0);
      }
    });
  }
  for (const c of cases("formula_decode")) {
    it(`${c.name}: boxes from synthetic maps`, () => {
      const [, h, w] = c.prob.shape;
      const got = decodeFormulas(load(c.prob) as Float32Array, load(c.box) as Float32Array, h, w,
        { scale: c.scale, srcSize: c.src_size, inSize: c.in_size }, c.spec ? formulaSpecFromMetadata(c.spec) : formulaSpec,
        { ...DEFAULT_FORMULA_DECODE, clamp: Boolean(c.clamp) });
      expect(got.map((d) => [...d.box, d.kind, d.score])).toEqual(c.boxes);
    });
  }
});
