// Copies the shipped models (and their model cards) and onnxruntime-web's wasm into public/ before a build.
// The models stay in one place in git (sdk/pocketocr/models/); POCKETOCR_MODELS=DIR picks another folder.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const app = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = resolve(process.env.POCKETOCR_MODELS ?? join(app, "..", "sdk", "pocketocr", "models"));
const out = join(app, "public", "models");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const manifest = {};
for (const cardName of existsSync(src) ? readdirSync(src).filter((f) => f.endsWith(".onnx.json")) : []) {
  const card = JSON.parse(readFileSync(join(src, cardName), "utf8"));
  const file = cardName.replace(/\.json$/, "");
  if (!existsSync(join(src, file)) || card.precision !== "int8") continue;
  copyFileSync(join(src, file), join(out, file));
  copyFileSync(join(src, cardName), join(out, cardName));
  manifest[`${card.task}_${card.role}`] = { file, card: cardName, version: card.version, sha256: card.sha256,
    metadata: card.metadata ?? {} };
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 1));
const names = Object.keys(manifest);
console.log(`copy-assets: models ${names.length ? names.join(", ") : "(none)"} from ${src}`);
if (!manifest.card_det || !manifest.card_rec) console.warn("copy-assets: no card models: card mode will not start");


// onnxruntime-web's wasm binary and its JS glue, loaded at run time from ./ort/ (the glue is also the script of
// the wasm worker threads, so it must be a file of its own, not bundled into the app).
const ortDist = join(app, "node_modules", "onnxruntime-web", "dist");
const ortOut = join(app, "public", "ort");
rmSync(ortOut, { recursive: true, force: true });
mkdirSync(ortOut, { recursive: true });
for (const f of ["ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs"]) copyFileSync(join(ortDist, f), join(ortOut, f));
