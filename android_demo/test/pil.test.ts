/** The windowed resize and the row-range grey are exact sub-views of the full operations (reader.ts relies on it). */
import { describe, expect, it } from "vitest";
import { type Raster, resize, toGrey } from "../src/core/pil";

function noise(width: number, height: number, channels: number, seed: number): Raster {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s >>> 16) & 0xff;
  }
  return { width, height, channels, data };
}

describe("resize window", () => {
  for (const [C, inW, inH, outW, outH] of [[1, 640, 480, 200, 150], [3, 333, 211, 97, 300], [1, 120, 90, 120, 40], [1, 90, 60, 45, 60]]) {
    it(`${C} channel(s) ${inW}x${inH} -> ${outW}x${outH}`, () => {
      const src = noise(inW, inH, C, inW * 7 + outH);
      const full = resize(src, outW, outH, "bilinear");
      const win = { x0: 13, y0: 9, x1: Math.min(outW, 71), y1: Math.min(outH, 37) };
      const part = resize(src, outW, outH, "bilinear", win);
      let inside = 0, outsideNonZero = 0;
      for (let y = 0; y < outH; y++) {
        for (let x = 0; x < outW; x++) {
          for (let c = 0; c < C; c++) {
            const i = (y * outW + x) * C + c;
            if (x >= win.x0 && x < win.x1 && y >= win.y0 && y < win.y1) {
              expect(part.data[i]).toBe(full.data[i]);
              inside++;
            } else if (part.data[i] !== 0) outsideNonZero++;
          }
        }
      }
      expect(inside).toBe((win.x1 - win.x0) * (win.y1 - win.y0) * C);
      expect(outsideNonZero).toBe(0);
    });
  }
});

describe("toGrey rows", () => {
  it("converts only [y0, y1), identically", () => {
    const src = noise(50, 40, 3, 5);
    const full = toGrey(src), part = toGrey(src, 10, 25);
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 50; x++) {
        const i = y * 50 + x;
        expect(part.data[i]).toBe(y >= 10 && y < 25 ? full.data[i] : 0);
      }
    }
  });
});
