/**
 * Exact ports of the Pillow operations the Python pre-processing uses, so the browser feeds the models
 * the same pixels as the SDK (canvas drawImage resamples differently and is not used for model input).
 *
 * - resize(): Pillow's two-pass convolution resample (libImaging/Resample.c): horizontal pass first into an
 *   8-bit image, then vertical; the filter support is scaled by the downscale factor (antialiasing), and the
 *   coefficients are fixed point with 22 fractional bits. Filters: BILINEAR (triangle, support 1) and BOX.
 * - quadTransform(): Image.transform(size, QUAD, data, BILINEAR) (libImaging/Geometry.c) for 1-channel images.
 * - toGrey(): convert("L"), ITU-R 601-2 luma in fixed point.
 */

export interface Raster {
  width: number;
  height: number;
  channels: number; // 1 (grey) or 3 (RGB), interleaved
  data: Uint8Array; // (height, width, channels) uint8
}

export type Filter = "bilinear" | "box";

const PRECISION_BITS = 32 - 8 - 2;

function filterFn(kind: Filter): [(x: number) => number, number] {
  if (kind === "bilinear") {
    return [(x: number) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    }, 1.0];
  }
  return [(x: number) => (x > -0.5 && x <= 0.5 ? 1 : 0), 0.5];
}

interface Coeffs {
  ksize: number;
  bounds: Int32Array; // (out, 2): xmin, count
  kk: Int32Array; // (out, ksize) fixed point
}

function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number, kind: Filter): Coeffs {
  const [filter, fsupport] = filterFn(kind);
  const scale = Math.fround(in1 - in0) / outSize; // C: (double)(in1 - in0) of two floats
  const filterscale = scale < 1 ? 1 : scale;
  const support = fsupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      let v = x < xmax ? (ww !== 0 ? k[x] / ww : k[x]) : 0;
      // normalize_coeffs_8bpc: round half away from zero to fixed point
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(v: number): number {
  const s = v >> PRECISION_BITS;
  return s < 0 ? 0 : s > 255 ? 255 : s;
}

/** Output pixels [x0, x1) x [y0, y1) of a resize; the rest of the output stays 0. */
export interface Window {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A source region (x0, y0, x1, y1) in source pixels, fractional allowed: Pillow's `box` argument. */
export type Box = [number, number, number, number];

/**
 * Pillow `Image.resize((w, h), BILINEAR | BOX, box=box)` of an 8-bit grey or RGB raster.
 *
 * With `win`, only those output pixels are computed (the rest are 0): each output pixel depends only on its own
 * coefficients, so a window of the full resize is exact, and a crop that reads a few rows costs a few rows.
 */
export function resize(src: Raster, outW: number, outH: number, kind: Filter = "bilinear", win?: Window, box?: Box): Raster {
  const { width: inW, height: inH, channels: C } = src;
  // Pillow passes the box to C as single-precision floats
  const [bx0, by0, bx1, by1] = (box ?? [0, 0, inW, inH]).map(Math.fround);
  const whole = bx0 === 0 && by0 === 0 && bx1 === inW && by1 === inH;
  if (outW === inW && outH === inH && whole) return { ...src, data: src.data.slice() };
  const wx0 = win ? Math.max(0, win.x0) : 0, wx1 = win ? Math.min(outW, win.x1) : outW;
  const wy0 = win ? Math.max(0, win.y0) : 0, wy1 = win ? Math.min(outH, win.y1) : outH;
  const out = new Uint8Array(outW * outH * C);
  if (wx1 <= wx0 || wy1 <= wy0) return { width: outW, height: outH, channels: C, data: out };
  // ImagingResampleInner's tests, box included
  const needH = outW !== inW || bx0 !== 0 || bx1 !== outW;
  const needV = outH !== inH || by0 !== 0 || by1 !== outH;
  const half = 1 << (PRECISION_BITS - 1);
  // Horizontal pass (Pillow runs it first, into 8 bits) over only the source rows the vertical pass reads,
  // and only the window's columns: tmp is (rows, wx1 - wx0).
  let rows: number, y0: number;
  const vert = needV ? precomputeCoeffs(inH, by0, by1, outH, kind) : null;
  if (vert) {
    y0 = vert.bounds[wy0 * 2];
    rows = vert.bounds[(wy1 - 1) * 2] + vert.bounds[(wy1 - 1) * 2 + 1] - y0;
  } else {
    y0 = wy0;
    rows = wy1 - wy0;
  }
  const tw = wx1 - wx0;
  const tmp = new Uint8Array(tw * rows * C);
  const d = src.data;
  if (needH) {
    const { ksize, bounds, kk } = precomputeCoeffs(inW, bx0, bx1, outW, kind);
    for (let yy = 0; yy < rows; yy++) {
      const rowOff = (yy + y0) * inW * C;
      let o = yy * tw * C;
      for (let xx = wx0; xx < wx1; xx++) {
        const xmin = bounds[xx * 2], cnt = bounds[xx * 2 + 1];
        const kb = xx * ksize;
        let p = rowOff + xmin * C;
        if (C === 3) {
          let s0 = half, s1 = half, s2 = half;
          // int32 arithmetic is exact here: the sums stay below 255 * 2^22 + 2^21 < 2^31
          for (let x = 0; x < cnt; x++, p += 3) {
            const k = kk[kb + x];
            s0 = (s0 + Math.imul(d[p], k)) | 0;
            s1 = (s1 + Math.imul(d[p + 1], k)) | 0;
            s2 = (s2 + Math.imul(d[p + 2], k)) | 0;
          }
          tmp[o++] = clip8(s0);
          tmp[o++] = clip8(s1);
          tmp[o++] = clip8(s2);
        } else {
          let s0 = half;
          for (let x = 0; x < cnt; x++, p++) s0 += d[p] * kk[kb + x];
          tmp[o++] = clip8(s0);
        }
      }
    }
  } else {
    for (let yy = 0; yy < rows; yy++) tmp.set(d.subarray(((yy + y0) * inW + wx0) * C, ((yy + y0) * inW + wx1) * C), yy * tw * C);
  }
  const rowLen = tw * C;
  if (!vert) {
    for (let yy = 0; yy < rows; yy++) out.set(tmp.subarray(yy * rowLen, (yy + 1) * rowLen), ((yy + wy0) * outW + wx0) * C);
    return { width: outW, height: outH, channels: C, data: out };
  }
  const { ksize, bounds: vb, kk } = vert;
  for (let yy = wy0; yy < wy1; yy++) {
    const off = (vb[yy * 2] - y0) * rowLen, cnt = vb[yy * 2 + 1];
    const kb = yy * ksize;
    const o = (yy * outW + wx0) * C;
    for (let i = 0; i < rowLen; i++) {
      let s0 = half;
      for (let y = 0, p = off + i; y < cnt; y++, p += rowLen) s0 = (s0 + Math.imul(tmp[p], kk[kb + y])) | 0;
      out[o + i] = clip8(s0);
    }
  }
  return { width: outW, height: outH, channels: C, data: out };
}

/**
 * Pillow `convert("L")` of an RGB raster: (r*19595 + g*38470 + b*7471 + 0x8000) >> 16.
 * With a row range, only rows [y0, y1) are converted (the rest are 0): a crop needs only its own rows.
 */
export function toGrey(src: Raster, y0 = 0, y1 = src.height): Raster {
  if (src.channels === 1) return src;
  const n = src.width * src.height;
  const out = new Uint8Array(n);
  const d = src.data;
  const i1 = Math.min(src.height, y1) * src.width;
  for (let i = Math.max(0, y0) * src.width; i < i1; i++) {
    out[i] = (d[i * 3] * 19595 + d[i * 3 + 1] * 38470 + d[i * 3 + 2] * 7471 + 0x8000) >>> 16;
  }
  return { width: src.width, height: src.height, channels: 1, data: out };
}

/** RGBA (canvas ImageData) -> RGB raster, alpha dropped. */
export function fromRGBA(data: Uint8ClampedArray | Uint8Array, width: number, height: number): Raster {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = data[i * 4];
    out[i * 3 + 1] = data[i * 4 + 1];
    out[i * 3 + 2] = data[i * 4 + 2];
  }
  return { width, height, channels: 3, data: out };
}

export type Point = [number, number];

/**
 * Pillow `img.transform((w, h), Image.QUAD, (*ul, *ll, *lr, *ur), Image.BILINEAR, fillcolor=fill)` for a grey raster.
 * Pixels whose source point falls outside the image are `fill` (0 without a fillcolor), as in Pillow.
 */
export function quadTransform(src: Raster, w: number, h: number, ul: Point, ll: Point, lr: Point, ur: Point, fill = 0): Raster {
  if (src.channels !== 1) throw new Error("quadTransform: grey rasters only");
  const [x0, y0] = ul;
  const As = 1.0 / w, At = 1.0 / h;
  const a0 = x0, a1 = (ur[0] - x0) * As, a2 = (ll[0] - x0) * At, a3 = (lr[0] - ll[0] - ur[0] + x0) * As * At;
  const a4 = y0, a5 = (ur[1] - y0) * As, a6 = (ll[1] - y0) * At, a7 = (lr[1] - ll[1] - ur[1] + y0) * As * At;
  const out = new Uint8Array(w * h).fill(fill);
  const W = src.width, H = src.height, d = src.data;
  for (let y = 0; y < h; y++) {
    const yin0 = y + 0.5;
    for (let x = 0; x < w; x++) {
      const xin0 = x + 0.5;
      let xin = a0 + a1 * xin0 + a2 * yin0 + a3 * xin0 * yin0;
      let yin = a4 + a5 * xin0 + a6 * yin0 + a7 * xin0 * yin0;
      if (xin < 0 || xin >= W || yin < 0 || yin >= H) continue; // stays fill
      xin -= 0.5;
      yin -= 0.5;
      const xi = xin < 0 ? Math.floor(xin) : Math.trunc(xin);
      const yi = yin < 0 ? Math.floor(yin) : Math.trunc(yin);
      const dx = xin - xi, dy = yin - yi;
      const xc0 = xi < 0 ? 0 : xi < W ? xi : W - 1;
      const xc1 = xi + 1 < 0 ? 0 : xi + 1 < W ? xi + 1 : W - 1;
      const yc = yi < 0 ? 0 : yi < H ? yi : H - 1;
      let row = yc * W;
      let v1 = d[row + xc0] + (d[row + xc1] - d[row + xc0]) * dx;
      let v2: number;
      if (yi + 1 >= 0 && yi + 1 < H) {
        row = (yi + 1) * W;
        v2 = d[row + xc0] + (d[row + xc1] - d[row + xc0]) * dx;
      } else {
        v2 = v1;
      }
      v1 = v1 + (v2 - v1) * dy;
      out[y * w + x] = Math.trunc(v1) & 0xff;
    }
  }
  return { width: w, height: h, channels: 1, data: out };
}
