/**
 * The demo app: card mode (live camera reading with multi-frame voting, editable result), formula mode
 * (photo -> boxes -> edit -> consent -> confirm), feedback, settings and the offline event queue.
 *
 * Test hook: `window.__pocketocr` (see README.md, "Tests"): `ready`, `screen()`, `injectCardStill(rgb, w, h)`
 * (an image fed to the reader as a still photo, decoded by the caller), `queueRows()`.
 */

import "../style.css";
import { Capacitor } from "@capacitor/core";
import { fromRGBA, type Raster } from "../core/pil";
import { levenshtein } from "../core/num";
import { CardReader, type CardResult } from "../core/card/reader";
import { cardSpecFromMetadata } from "../core/card/pre";
import { formulaSpecFromMetadata, formulaTensor, pageCanvas, type FormulaSpec } from "../core/formula/pre";
import { decodeFormulas, snapToInk } from "../core/formula/post";
import { configureOrt, loadManifest, loadModel, type Manifest, type Model } from "../core/runtime";
import { EventQueue, type Settings } from "../events/queue";
import * as ev from "../events/events";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const base = document.baseURI;
const native = Capacitor.isNativePlatform();
const device = ev.detectDevice(native);

// ---- settings (localStorage; ?collector=URL&key=KEY pre-fills them, for setting up a phone from a link) ----
function loadSettings(): Settings {
  const q = new URLSearchParams(location.search);
  if (q.get("collector")) localStorage.setItem("collectorUrl", q.get("collector")!);
  if (q.get("key")) localStorage.setItem("apiKey", q.get("key")!);
  return { collectorUrl: localStorage.getItem("collectorUrl") ?? "", apiKey: localStorage.getItem("apiKey") ?? "" };
}
let settings = loadSettings();
const queue = new EventQueue(() => settings);

function setScreen(name: string) {
  document.body.dataset.screen = name;
  const tab = name.split("-")[0];
  document.querySelectorAll<HTMLButtonElement>(".tab").forEach((b) => {
    if (b.dataset.tab === tab) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
}
const painted = () => new Promise<number>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))));

// ---- models ----
let manifest: Manifest = {};
let reader: CardReader | null = null;
let cardVersion = "unknown";
let formulaModel: Model | null = null;
let formulaSpec: FormulaSpec | null = null;
let threads = 1;

async function init() {
  const q = new URLSearchParams(location.search);
  threads = configureOrt(q.get("threads") ? Math.max(1, Number(q.get("threads"))) : undefined).threads;
  manifest = await loadManifest(base);
  if (!manifest.card_det || !manifest.card_rec) throw new Error("the card models are missing from this build (npm run build copies them)");
  const [det, rec] = await Promise.all([loadModel(base, manifest.card_det), loadModel(base, manifest.card_rec)]);
  const spec = cardSpecFromMetadata({ ...manifest.card_rec.metadata, ...manifest.card_det.metadata });
  reader = new CardReader(det.run, rec.run, spec);
  cardVersion = ev.versionToken(manifest.card_det.metadata.version ?? manifest.card_det.version);
  if (manifest.formula_det) {
    formulaModel = await loadModel(base, manifest.formula_det);
    formulaSpec = formulaSpecFromMetadata(manifest.formula_det.metadata);
  } else {
    $("formula-missing").hidden = false;
    $("page-camera").closest("label")!.hidden = true;
    $("page-file").closest("label")!.hidden = true;
  }
  $("about").textContent = `app ${ev.APP_VERSION}; card models ${cardVersion}` +
    (manifest.formula_det ? `; formula model ${manifest.formula_det.version}` : "; no formula model") +
    `; onnxruntime-web wasm, SIMD, ${threads} thread(s)${globalThis.crossOriginIsolated ? "" : " (page not cross-origin isolated)"}; platform ${device.platform}`;
}

// ---- card mode ----
interface CardSession {
  id: string;
  active: boolean;
  stream: MediaStream | null;
  result: CardResult | null;
  numberEdited: boolean;
  expiryEdited: boolean;
  closed: boolean;
}
let card: CardSession | null = null;
const common = (task: ev.Task, session_id: string): ev.Common =>
  ({ session_id, task, model_version: task === "card" ? cardVersion : ev.versionToken(manifest.formula_det?.version), device });

function newCardSession(): CardSession {
  reader!.reset();
  return { id: ev.uuid(), active: true, stream: null, result: null, numberEdited: false, expiryEdited: false, closed: false };
}

function stopCamera() {
  if (card) {
    card.active = false;
    card.stream?.getTracks().forEach((t) => t.stop());
    card.stream = null;
  }
  ($("video") as HTMLVideoElement).srcObject = null;
}

function abandonCard(reason: string) {
  if (card && !card.closed) {
    card.closed = true;
    queue.add(ev.abandonedEvent(common("card", card.id), reason));
  }
  stopCamera();
}

const digitsOf = (s: string) => s.replace(/[^0-9]/g, "");
const grouped = (d: string) => d.replace(/(\d{4})(?=\d)/g, "$1 ");

async function startScan() {
  abandonCard("user_cancelled");
  card = newCardSession();
  setScreen("card-scan");
  $("scan-status").textContent = "Starting the camera…";
  const video = $<HTMLVideoElement>("video");
  try {
    card.stream = await navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } } });
  } catch (e) {
    $("scan-status").textContent = `No camera: ${(e as Error).message}. Read a photo instead.`;
    abandonCard("camera_error");
    setScreen("card-home");
    return;
  }
  video.srcObject = card.stream;
  await video.play().catch(() => undefined);
  // show the whole camera frame (the model reads all of it), in its own aspect ratio
  video.addEventListener("loadedmetadata", () => {
    if (video.videoWidth) ($("video").parentElement as HTMLElement).style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  }, { once: true });
  if (video.videoWidth) ($("video").parentElement as HTMLElement).style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  const session = card;
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  $("scan-status").textContent = "Looking for the card…";
  while (session.active) {
    if (video.readyState < 2 || !video.videoWidth) {
      await new Promise((r) => setTimeout(r, 30));
      continue;
    }
    const w = video.videoWidth, h = video.videoHeight;
    if (canvas.width !== w || canvas.height !== h) [canvas.width, canvas.height] = [w, h];
    const tCapture = performance.now();
    ctx.drawImage(video, 0, 0, w, h);
    const frame = fromRGBA(ctx.getImageData(0, 0, w, h).data, w, h);
    const { accepted, frame: read } = await reader!.feed(frame);  // votes; turned reads on one frame in four
    if (!session.active) return;
    $("scan-status").textContent = read.number
      ? `Reading… ${read.number.slice(0, 4)} •••• (${read.timings_ms.total.toFixed(0)} ms)`
      : `Looking for the card… (${read.timings_ms.total.toFixed(0)} ms)`;
    if (accepted) {
      stopCamera();
      session.active = false;
      await showCardResult(session, accepted, tCapture, read.timings_ms.infer);
      return;
    }
    await new Promise((r) => requestAnimationFrame(r));
  }
}

async function showCardResult(session: CardSession, r: CardResult, tCapture: number, modelMs: number) {
  card = session;
  session.result = r;
  $<HTMLInputElement>("f-number").value = grouped(r.number ?? "");
  $<HTMLInputElement>("f-expiry").value = r.expiry ?? "";
  $("result-meta").textContent = (r.brand ? `${r.brand} · ` : "") +
    (r.needs_review ? "Please check the highlighted fields." : "Read on this phone.") + ` ${modelMs.toFixed(0)} ms model time`;
  $("f-number").classList.toggle("review", r.needs_review);
  setScreen("card-result");
  const tShown = await painted();
  await queue.add(ev.cardResultEvent(common("card", session.id), r.number, r.confidence.number, r.expiry, r.confidence.expiry,
    modelMs, tShown - tCapture));
  document.body.dataset.cardResult = "shown";
}

/** A still photo (file pick, or the test hook): one read, like pocketocr.read_card, then the result screen. */
async function readStill(img: Raster, tCapture: number) {
  abandonCard("user_cancelled");
  const session = newCardSession();
  session.active = false;
  card = session;
  const r = await reader!.read(img);
  await showCardResult(session, r, tCapture, r.timings_ms.infer);
}

async function confirmCard() {
  if (!card || card.closed || !card.result) return;
  const r = card.result;
  const number = digitsOf($<HTMLInputElement>("f-number").value);
  const expiry = $<HTMLInputElement>("f-expiry").value.trim();
  const dn = levenshtein(r.number ?? "", number), de = levenshtein(r.expiry ?? "", expiry);
  card.closed = true;
  await queue.add(ev.cardSubmittedEvent(common("card", card.id),
    { edited: card.numberEdited || dn > 0, edit_distance: dn }, { edited: card.expiryEdited || de > 0, edit_distance: de }));
  $("done-text").textContent = dn || de ? "Your corrections were recorded (never the card number itself)." : "Confirmed.";
  setScreen("card-done");
}

// ---- formula mode ----
type Box = [number, number, number, number];
interface EditBox { id: number; box: Box; kind: string; fromModel: boolean; orig: Box | null }
interface Page { session: string; img: Raster; bitmap: ImageBitmap | HTMLCanvasElement; boxes: EditBox[]; removed: number;
  selected: number | null; drawing: boolean; closed: boolean }
let page: Page | null = null;
let nextId = 1;

async function rasterOfFile(file: Blob): Promise<{ raster: Raster; bitmap: ImageBitmap }> {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const c = document.createElement("canvas");
  [c.width, c.height] = [bitmap.width, bitmap.height];
  const ctx = c.getContext("2d", { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  return { raster: fromRGBA(ctx.getImageData(0, 0, c.width, c.height).data, c.width, c.height), bitmap };
}

async function openPage(file: File) {
  if (!formulaModel || !formulaSpec) return;
  if (page && !page.closed) queue.add(ev.abandonedEvent(common("formula", page.session), "user_cancelled"));
  const tCapture = performance.now();
  const { raster, bitmap } = await rasterOfFile(file);
  const { canvas, width, height, meta, grey } = pageCanvas(raster, formulaSpec);
  const t0 = performance.now();
  const [prob, box] = await formulaModel.runAll({ data: formulaTensor(canvas, formulaSpec), dims: [1, 1, height, width] });
  const modelMs = performance.now() - t0;
  const found = snapToInk(decodeFormulas(prob.data, box.data, prob.dims[2], prob.dims[3], meta, formulaSpec), grey,
    raster.width, raster.height);
  page = { session: ev.uuid(), img: raster, bitmap, removed: 0, selected: null, drawing: false, closed: false,
    boxes: found.map((d) => ({ id: nextId++, box: [...d.box] as Box, kind: d.kind, fromModel: true, orig: [...d.box] as Box })) };
  $<HTMLInputElement>("consent").checked = false; // consent is per photo, off by default
  setScreen("formula-edit");
  drawPage();
  const tShown = await painted();
  await queue.add(ev.formulaResultEvent(common("formula", page.session), found.length, modelMs, tShown - tCapture));
  document.body.dataset.formulaResult = "shown";
}

function drawPage() {
  if (!page) return;
  const c = $<HTMLCanvasElement>("page-canvas");
  [c.width, c.height] = [page.img.width, page.img.height];
  const ctx = c.getContext("2d")!;
  ctx.drawImage(page.bitmap as CanvasImageSource, 0, 0);
  const lw = Math.max(2, page.img.width / 400);
  for (const b of page.boxes) {
    const [x1, y1, x2, y2] = b.box;
    ctx.lineWidth = b.id === page.selected ? lw * 2 : lw;
    ctx.strokeStyle = b.id === page.selected ? "#e5534b" : b.fromModel ? (b.kind === "isolated" ? "#1f6feb" : "#2da44e") : "#bf3989";
    ctx.fillStyle = "rgba(31,111,235,0.08)";
    ctx.fillRect(x1, y1, x2 - x1, y2 - y1);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    if (b.id === page.selected) {
      ctx.fillStyle = "#e5534b";
      for (const [hx, hy] of [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]) ctx.fillRect(hx - lw * 3, hy - lw * 3, lw * 6, lw * 6);
    }
  }
  $("box-count").textContent = `${page.boxes.length} formula box(es)`;
  $<HTMLButtonElement>("tool-delete").disabled = page.selected === null;
  c.dataset.boxes = JSON.stringify(page.boxes.map((b) => b.box));
}

function setupPageEditing() {
  const c = $<HTMLCanvasElement>("page-canvas");
  const toImg = (e: PointerEvent): [number, number] => {
    const r = c.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * c.width, ((e.clientY - r.top) / r.height) * c.height];
  };
  let drag: { mode: "new" | "move" | "corner"; id: number; start: [number, number]; orig: Box; corner: number } | null = null;
  c.addEventListener("pointerdown", (e) => {
    if (!page) return;
    c.setPointerCapture(e.pointerId);
    const p = toImg(e);
    const tol = (12 / c.getBoundingClientRect().width) * c.width;
    if (page.drawing) {
      const b: EditBox = { id: nextId++, box: [p[0], p[1], p[0], p[1]], kind: "unknown", fromModel: false, orig: null };
      page.boxes.push(b);
      page.selected = b.id;
      drag = { mode: "new", id: b.id, start: p, orig: [...b.box] as Box, corner: 2 };
    } else {
      const sel = page.boxes.find((b) => b.id === page!.selected);
      const corners = sel ? [[sel.box[0], sel.box[1]], [sel.box[2], sel.box[1]], [sel.box[2], sel.box[3]], [sel.box[0], sel.box[3]]] : [];
      // the nearest corner within reach (small boxes have all four within reach)
      let ci = -1, bestD = Infinity;
      corners.forEach(([x, y], i) => {
        const d = Math.hypot(x - p[0], y - p[1]);
        if (Math.abs(x - p[0]) < tol && Math.abs(y - p[1]) < tol && d < bestD) [ci, bestD] = [i, d];
      });
      if (sel && ci >= 0) drag = { mode: "corner", id: sel.id, start: p, orig: [...sel.box] as Box, corner: ci };
      else {
        const hit = [...page.boxes].reverse().find((b) => p[0] >= b.box[0] && p[0] <= b.box[2] && p[1] >= b.box[1] && p[1] <= b.box[3]);
        page.selected = hit ? hit.id : null;
        if (hit) drag = { mode: "move", id: hit.id, start: p, orig: [...hit.box] as Box, corner: -1 };
      }
    }
    drawPage();
  });
  c.addEventListener("pointermove", (e) => {
    if (!page || !drag) return;
    const p = toImg(e);
    const b = page.boxes.find((x) => x.id === drag!.id);
    if (!b) return;
    const [dx, dy] = [p[0] - drag.start[0], p[1] - drag.start[1]];
    const o = drag.orig;
    if (drag.mode === "move") b.box = [o[0] + dx, o[1] + dy, o[2] + dx, o[3] + dy];
    else {
      const xs = drag.corner === 0 || drag.corner === 3 ? [o[0] + dx, o[2]] : [o[0], o[2] + dx];
      const ys = drag.corner === 0 || drag.corner === 1 ? [o[1] + dy, o[3]] : [o[1], o[3] + dy];
      b.box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    }
    drawPage();
  });
  const end = () => {
    if (page && drag?.mode === "new") {
      const b = page.boxes.find((x) => x.id === drag!.id);
      if (b && (b.box[2] - b.box[0] < 3 || b.box[3] - b.box[1] < 3)) page.boxes = page.boxes.filter((x) => x !== b);
      page.drawing = false;
      $("tool-draw").setAttribute("aria-pressed", "false");
    }
    drag = null;
    drawPage();
  };
  c.addEventListener("pointerup", end);
  c.addEventListener("pointercancel", end);
  $("tool-draw").addEventListener("click", () => {
    if (!page) return;
    page.drawing = !page.drawing;
    $("tool-draw").setAttribute("aria-pressed", String(page.drawing));
  });
  $("tool-delete").addEventListener("click", () => {
    if (!page || page.selected === null) return;
    const b = page.boxes.find((x) => x.id === page!.selected);
    if (b?.fromModel) page.removed++;
    page.boxes = page.boxes.filter((x) => x.id !== page!.selected);
    page.selected = null;
    drawPage();
  });
}

/** JPEG of the page, scaled down until it fits the collector's 700,000-byte image limit. */
async function pageUpload(p: Page): Promise<{ media_type: "image/jpeg"; data: string; scale: number; width: number; height: number }> {
  let scale = Math.min(1, 2048 / Math.max(p.img.width, p.img.height));
  for (;;) {
    const c = document.createElement("canvas");
    [c.width, c.height] = [Math.round(p.img.width * scale), Math.round(p.img.height * scale)];
    c.getContext("2d")!.drawImage(p.bitmap as CanvasImageSource, 0, 0, c.width, c.height);
    const blob: Blob = await new Promise((r) => c.toBlob((b) => r(b!), "image/jpeg", 0.85));
    if (blob.size <= 690_000 || scale < 0.2) {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let bin = "";
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { media_type: "image/jpeg", data: btoa(bin), scale: c.width / p.img.width, width: c.width, height: c.height };
    }
    scale *= 0.75;
  }
}

async function confirmPage() {
  if (!page || page.closed) return;
  const p = page;
  p.closed = true;
  const moved = (b: EditBox) => b.orig !== null && b.box.some((v, i) => Math.abs(v - b.orig![i]) > 0.5);
  const edits = { added: p.boxes.filter((b) => !b.fromModel).length, removed: p.removed, adjusted: p.boxes.filter(moved).length };
  let consent;
  if ($<HTMLInputElement>("consent").checked) {
    const up = await pageUpload(p);
    // boxes in the pixels of the uploaded image, inside it (a box dragged off the page is dropped)
    const r1 = (v: number, max: number) => Math.min(max, Math.max(0, Math.round(v * up.scale * 10) / 10));
    consent = { media_type: up.media_type, data: up.data,
      boxes: p.boxes.map((b) => [r1(b.box[0], up.width), r1(b.box[1], up.height), r1(b.box[2], up.width),
        r1(b.box[3], up.height), b.kind] as [number, number, number, number, string])
        .filter((b) => b[2] > b[0] && b[3] > b[1]) };
  }
  await queue.add(ev.formulaSubmittedEvent(common("formula", p.session), edits, consent));
  $("formula-done-text").textContent = `${p.boxes.length} box(es) confirmed: ${edits.added} added, ${edits.removed} removed, ` +
    `${edits.adjusted} adjusted.` + (consent ? " The page image was shared, as you allowed." : " The page image stayed on this phone.");
  setScreen("formula-done");
}

// ---- feedback, settings, queue status ----
let lastTask: ev.Task = "card";
async function sendFeedback() {
  const text = $<HTMLTextAreaElement>("fb-text").value.trim();
  if (!text) {
    $("fb-status").textContent = "Please describe the problem.";
    return;
  }
  const rating = Number($<HTMLSelectElement>("fb-rating").value) || undefined;
  await queue.add(ev.feedbackEvent(common(lastTask, ev.uuid()), text, $<HTMLSelectElement>("fb-category").value, rating));
  $<HTMLTextAreaElement>("fb-text").value = "";
  $("fb-status").textContent = "Thank you: your report is queued and will be sent when the phone is online.";
}

function renderQueue() {
  const s = queue.stats;
  $("q-status").textContent = `${s.pending} event(s) waiting, ${s.rejected} rejected, ${s.sent} sent this session` +
    (s.lastError ? ` (last try: ${s.lastError})` : "");
  const badge = $("queue-badge");
  badge.hidden = s.pending === 0;
  badge.textContent = String(s.pending);
  document.body.dataset.queuePending = String(s.pending);
}

async function exportJsonl() {
  const blob = new Blob([await queue.exportJsonl()], { type: "application/x-ndjson" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `pocketocr-events-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.jsonl`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function wire() {
  document.querySelectorAll<HTMLButtonElement>(".tab").forEach((b) => b.addEventListener("click", () => {
    const tab = b.dataset.tab!;
    if (document.body.dataset.screen === "card-scan") abandonCard("user_cancelled");
    if (tab === "card" || tab === "formula") lastTask = tab;
    setScreen(tab === "card" ? "card-home" : tab === "formula" ? "formula-home" : tab);
  }));
  $("card-start").addEventListener("click", () => startScan());
  $("scan-cancel").addEventListener("click", () => { abandonCard("user_cancelled"); setScreen("card-home"); });
  $<HTMLInputElement>("card-file").addEventListener("change", async (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    const t = performance.now();
    await readStill((await rasterOfFile(f)).raster, t);
    (e.target as HTMLInputElement).value = "";
  });
  $("f-number").addEventListener("input", () => {
    if (card?.result && digitsOf($<HTMLInputElement>("f-number").value) !== (card.result.number ?? "")) card.numberEdited = true;
  });
  $("f-expiry").addEventListener("input", () => {
    if (card?.result && $<HTMLInputElement>("f-expiry").value.trim() !== (card.result.expiry ?? "")) card.expiryEdited = true;
  });
  $("result-confirm").addEventListener("click", confirmCard);
  $("result-rescan").addEventListener("click", () => startScan());
  $("done-again").addEventListener("click", () => startScan());
  for (const id of ["page-camera", "page-file"]) {
    $<HTMLInputElement>(id).addEventListener("change", async (e) => {
      const f = (e.target as HTMLInputElement).files?.[0];
      if (f) await openPage(f);
      (e.target as HTMLInputElement).value = "";
    });
  }
  setupPageEditing();
  $("formula-confirm").addEventListener("click", confirmPage);
  $("formula-cancel").addEventListener("click", () => {
    if (page && !page.closed) {
      page.closed = true;
      queue.add(ev.abandonedEvent(common("formula", page.session), "user_cancelled"));
    }
    setScreen("formula-home");
  });
  $("formula-again").addEventListener("click", () => setScreen("formula-home"));
  $("fb-send").addEventListener("click", sendFeedback);
  $<HTMLInputElement>("s-url").value = settings.collectorUrl;
  $<HTMLInputElement>("s-key").value = settings.apiKey;
  $("s-save").addEventListener("click", () => {
    settings = { collectorUrl: $<HTMLInputElement>("s-url").value.trim(), apiKey: $<HTMLInputElement>("s-key").value.trim() };
    localStorage.setItem("collectorUrl", settings.collectorUrl);
    localStorage.setItem("apiKey", settings.apiKey);
    queue.sendNow();
  });
  $("q-send").addEventListener("click", () => queue.sendNow());
  $("q-export").addEventListener("click", exportJsonl);
  queue.onChange = renderQueue;
  window.addEventListener("pagehide", () => { if (document.body.dataset.screen === "card-scan") abandonCard("user_cancelled"); });
}

// ---- test hook ----
const ready = (async () => {
  wire();
  renderQueue();
  try {
    await init();
    setScreen("card-home");
  } catch (e) {
    $("error-text").textContent = `Cannot start: ${(e as Error).message}`;
    setScreen("error");
    throw e;
  }
})();

Object.assign(window, {
  __pocketocr: {
    ready,
    screen: () => document.body.dataset.screen,
    threads: () => threads,
    /** Feed an RGB image (HxWx3 bytes, decoded by the caller) to the reader as a still photo. */
    injectCardStill: async (rgb: Uint8Array, width: number, height: number) =>
      readStill({ width, height, channels: 3, data: rgb }, performance.now()),
    lastCardResult: () => card?.result ?? null,
    /** Model latency in this browser (benchmarks/bench_demo_browser.py): card read and formula detection. */
    bench: async (rgb: Uint8Array, w: number, h: number, pageRgb: Uint8Array | null, pw: number, ph: number,
      runs: number, warmup: number) => {
      const img: Raster = { width: w, height: h, channels: 3, data: rgb };
      const card = { total: [] as number[], infer: [] as number[], pre: [] as number[], post: [] as number[] };
      for (let i = 0; i < warmup + runs; i++) {
        const t0 = performance.now();
        const r = await reader!.read(img);
        const t = performance.now() - t0;
        if (i < warmup) continue;
        card.total.push(t);
        card.infer.push(r.timings_ms.infer);
        card.pre.push(r.timings_ms.pre);
        card.post.push(r.timings_ms.post);
      }
      const formula = { total: [] as number[], infer: [] as number[] };
      if (pageRgb && formulaModel && formulaSpec) {
        const pimg: Raster = { width: pw, height: ph, channels: 3, data: pageRgb };
        for (let i = 0; i < warmup + runs; i++) {
          const t0 = performance.now();
          const { canvas, width, height, meta, grey } = pageCanvas(pimg, formulaSpec);
          const t1 = performance.now();
          const [prob, box] = await formulaModel.runAll({ data: formulaTensor(canvas, formulaSpec), dims: [1, 1, height, width] });
          const t2 = performance.now();
          snapToInk(decodeFormulas(prob.data, box.data, prob.dims[2], prob.dims[3], meta, formulaSpec), grey, pw, ph);
          const t3 = performance.now();
          if (i < warmup) continue;
          formula.total.push(t3 - t0);
          formula.infer.push(t2 - t1);
        }
      }
      return { card, formula, threads, cross_origin_isolated: globalThis.crossOriginIsolated, user_agent: navigator.userAgent };
    },
    queueRows: () => queue.all(),
    queueStats: () => ({ ...queue.stats }),
  },
});

if (!native && "serviceWorker" in navigator && window.isSecureContext && !new URLSearchParams(location.search).has("nosw")) {
  navigator.serviceWorker.register("sw.js").catch(() => undefined);
}
