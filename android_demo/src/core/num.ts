/** Numeric helpers that reproduce numpy / Python behaviour where the decoders depend on it. */

const f = Math.fround;

/** numpy's pairwise summation of a float32 array (float32 accumulators, 8-way unrolled blocks of 128). */
export function pairwiseSumF32(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = -0.0; // numpy starts from -0.0 in newer versions; 0 and -0 add the same for non-empty input
    res = 0;
    for (let i = 0; i < n; i++) res = f(res + f(a[start + i]));
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0].map((_, j) => f(a[start + j]));
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = f(r[j] + f(a[start + i + j]));
    }
    let res = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
    for (; i < n; i++) res = f(res + f(a[start + i]));
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSumF32(a, start, n2) + pairwiseSumF32(a, start + n2, n - n2));
}

/** np.mean of a float32 array (float32 result). */
export function meanF32(a: ArrayLike<number>): number {
  return f(pairwiseSumF32(a) / a.length);
}

/** np.median of a float32 array (float32 result). */
export function medianF32(a: ArrayLike<number>): number {
  const s = Float32Array.from(a).sort();
  const n = s.length;
  if (n % 2 === 1) return s[(n - 1) / 2];
  return f(f(s[n / 2 - 1] + s[n / 2]) / 2);
}

/** numpy pairwise summation of float64 values (same blocking, double accumulators). */
export function pairwiseSumF64(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0].map((_, j) => a[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSumF64(a, start, n2) + pairwiseSumF64(a, start + n2, n - n2);
}

/** np.median of float64 values. */
export function medianF64(a: ArrayLike<number>): number {
  const s = Float64Array.from(a).sort();
  const n = s.length;
  if (n % 2 === 1) return s[(n - 1) / 2];
  return (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Python's round(x, nd): correctly rounded, ties (exact binary halves) to even. */
export function pyRound(x: number, nd: number): number {
  if (!isFinite(x)) return x;
  const t = x * 2 ** (nd + 1);
  if (Number.isInteger(t) && Math.abs(t % 2) === 1) {
    // an exact tie: x = (2k+1) / 2^(nd+1); the neighbours at nd decimals are exact decimals
    const m = 10 ** nd;
    const lo = Math.floor(x * m), hi = lo + 1;
    return (lo % 2 === 0 ? lo : hi) / m;
  }
  return Number(x.toFixed(nd));
}

/** Python's int(np.median(uint8 array)): truncation of the float median. */
export function medianU8Trunc(a: Uint8Array): number {
  const hist = new Uint32Array(256);
  for (let i = 0; i < a.length; i++) hist[a[i]]++;
  const n = a.length;
  const kth = (k: number) => {
    let c = 0;
    for (let v = 0; v < 256; v++) {
      c += hist[v];
      if (c > k) return v;
    }
    return 255;
  };
  if (n % 2 === 1) return kth((n - 1) / 2);
  return Math.trunc((kth(n / 2 - 1) + kth(n / 2)) / 2);
}

/** Levenshtein distance (insertions, deletions, substitutions), as python-Levenshtein's distance(). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Stable argsort ascending. */
export function argsort(a: ArrayLike<number>): number[] {
  return Array.from({ length: a.length }, (_, i) => i).sort((i, j) => (a[i] < a[j] ? -1 : a[i] > a[j] ? 1 : i - j));
}
