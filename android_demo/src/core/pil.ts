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
  const scale = (in1 - in0) / outSize;
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

/** Pillow `Image.resize((w, h), BILINEAR | BOX)` of an 8-bit grey or RGB raster. */
export function resize(src: Raster, outW: number, outH: number, kind: Filter = "bilinear"): Raster {
  const { width: inW, height: inH, channels: C } = src;
  if (outW === inW && outH === inH) return { ...src, data: src.data.slice() };
  const needH = outW !== inW;
  const needV = outH !== inH;
  const horiz = precomputeCoeffs(inW, 0, inW, outW, kind);
  const vert = precomputeCoeffs(inH, 0, inH, outH, kind);
  let tmp: Raster = src;
  let vb = vert.bounds;
  if (needH) {
    // only the source rows the vertical pass reads
    const yFirst = vert.bounds[0];
    const yLast = vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1];
    vb = vert.bounds.slice();
    for (let i = 0; i < outH; i++) vb[i * 2] -= yFirst;
    const rows = needV ? yLast - yFirst : inH;
    const y0 = needV ? yFirst : 0;
    const out = new Uint8Array(outW * rows * C);
    const { ksize, bounds, kk } = horiz;
    const half = 1 << (PRECISION_BITS - 1);
    const d = src.data;
    for (let yy = 0; yy < rows; yy++) {
      const rowOff = (yy + y0) * inW * C;
      const outOff = yy * outW * C;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2], cnt = bounds[xx * 2 + 1];
        const kb = xx * ksize;
        let p = rowOff + xmin * C;
        if (C === 3) {
          let s0 = half, s1 = half, s2 = half;
          for (let x = 0; x < cnt; x++, p += 3) {
            const k = kk[kb + x];
            s0 += d[p] * k;
            s1 += d[p + 1] * k;
            s2 += d[p + 2] * k;
          }
          const o = outOff + xx * 3;
          out[o] = clip8(s0);
          out[o + 1] = clip8(s1);
          out[o + 2] = clip8(s2);
        } else {
          let s0 = half;
          for (let x = 0; x < cnt; x++, p++) s0 += d[p] * kk[kb + x];
          out[outOff + xx] = clip8(s0);
        }
      }
    }
    tmp = { width: outW, height: rows, channels: C, data: out };
  }
  if (!needV) return tmp;
  const W = tmp.width;
  const out = new Uint8Array(W * outH * C);
  const { ksize, kk } = vert;
  const half = 1 << (PRECISION_BITS - 1);
  const td = tmp.data;
  const rowLen = W * C;
  const acc = new Float64Array(rowLen);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = vb[yy * 2], cnt = vb[yy * 2 + 1];
    const kb = yy * ksize;
    acc.fill(half);
    // row by row: the same sums as Pillow's per-pixel loop over y (exact integers, order does not matter)
    for (let y = 0; y < cnt; y++) {
      const k = kk[kb + y];
      const off = (y + ymin) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += td[off + i] * k;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]);
  }
  return { width: W, height: outH, channels: C, data: out };
}

/** Pillow `convert("L")` of an RGB raster: (r*19595 + g*38470 + b*7471 + 0x8000) >> 16. */
export function toGrey(src: Raster): Raster {
  if (src.channels === 1) return src;
  const n = src.width * src.height;
  const out = new Uint8Array(n);
  const d = src.data;
  for (let i = 0; i < n; i++) {
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
 * Pillow `img.transform((w, h), Image.QUAD, (*ul, *ll, *lr, *ur), Image.BILINEAR)` for a grey raster.
 * Pixels whose source point falls outside the image are 0, as in Pillow.
 */
export function quadTransform(src: Raster, w: number, h: number, ul: Point, ll: Point, lr: Point, ur: Point): Raster {
  if (src.channels !== 1) throw new Error("quadTransform: grey rasters only");
  const [x0, y0] = ul;
  const As = 1.0 / w, At = 1.0 / h;
  const a0 = x0, a1 = (ur[0] - x0) * As, a2 = (ll[0] - x0) * At, a3 = (lr[0] - ll[0] - ur[0] + x0) * As * At;
  const a4 = y0, a5 = (ur[1] - y0) * As, a6 = (ll[1] - y0) * At, a7 = (lr[1] - ll[1] - ur[1] + y0) * As * At;
  const out = new Uint8Array(w * h);
  const W = src.width, H = src.height, d = src.data;
  for (let y = 0; y < h; y++) {
    const yin0 = y + 0.5;
    for (let x = 0; x < w; x++) {
      const xin0 = x + 0.5;
      let xin = a0 + a1 * xin0 + a2 * yin0 + a3 * xin0 * yin0;
      let yin = a4 + a5 * xin0 + a6 * yin0 + a7 * xin0 * yin0;
      if (xin < 0 || xin >= W || yin < 0 || yin >= H) continue; // stays 0
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
