/** onnxruntime-web sessions for the shipped models, and the manifest written by scripts/copy-assets.mjs. */

import * as ort from "onnxruntime-web/wasm";
import type { Runner, Tensor } from "./card/reader";

export interface ModelEntry {
  file: string;
  card: string;
  version: string;
  sha256: string;
  metadata: Record<string, string>;
}
export type Manifest = Partial<Record<"card_det" | "card_rec" | "formula_det", ModelEntry>>;

let configured = false;

/** wasm backend; threads only when the page is cross-origin isolated (SharedArrayBuffer), SIMD always. */
export function configureOrt(threads?: number): { threads: number } {
  // half the cores, at least 2 and at most 4 (the rest run the camera, the UI and the browser). A read is short
  // and the camera loop waits for it, so even a 2-core device reads faster on both cores: 26.7 vs 34.5 ms
  // per card on the idle 2-core VM (README, Benchmark); a busy device may do better with ?threads=1.
  const cores = navigator.hardwareConcurrency || 1;
  const n = threads ?? (globalThis.crossOriginIsolated && cores >= 2 ? Math.min(4, Math.max(2, Math.floor(cores / 2))) : 1);
  if (!configured) {
    // ./ort/ holds the wasm binary and its JS glue (copied by scripts/copy-assets.mjs); the glue is also the
    // worker script of the wasm threads, so it cannot be bundled into the app
    ort.env.wasm.wasmPaths = new URL("ort/", document.baseURI).href;
    ort.env.wasm.numThreads = n;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
    configured = true;
  }
  return { threads: ort.env.wasm.numThreads as number };
}

export async function loadManifest(base: string): Promise<Manifest> {
  const res = await fetch(new URL("models/manifest.json", base));
  if (!res.ok) throw new Error(`models/manifest.json: HTTP ${res.status}`);
  return res.json();
}

export interface Model {
  entry: ModelEntry;
  run: Runner;
  /** all outputs, in the model's output order */
  runAll: (input: Tensor) => Promise<Tensor[]>;
}

export async function loadModel(base: string, entry: ModelEntry): Promise<Model> {
  const res = await fetch(new URL(`models/${entry.file}`, base));
  if (!res.ok) throw new Error(`models/${entry.file}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const input = session.inputNames[0];
  const runAll = async (x: Tensor): Promise<Tensor[]> => {
    const out = await session.run({ [input]: new ort.Tensor("float32", x.data, x.dims) });
    return session.outputNames.map((name) => {
      const t = out[name];
      return { data: t.data as Float32Array, dims: t.dims.map(Number) };
    });
  };
  return { entry, runAll, run: async (x) => (await runAll(x))[0] };
}
