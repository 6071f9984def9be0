// Drives the built demo (dist/) in headless Chromium as a Pixel 7, for the tests, the replay harness and the
// benchmark. Python (tests/demo, `pocketocr demo replay`, benchmarks/bench_demo_browser.py) prepares the inputs,
// runs the collector and checks what it stored; this script only plays the user.
//
//   node e2e/driver.mjs SCENARIO --spec spec.json
//
// Scenarios: card (fake camera -> read -> edit -> confirm -> feedback), offline (the same with no collector;
// waits for "GO" on stdin, then for the queue to drain), formula (file pick -> edit boxes -> consent -> confirm),
// replay (inject labelled images, correct wrong fields to the truth, confirm), bench (model latency).
// Prints one JSON object on stdout. Every request the page makes is recorded (url, method, body).
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { chromium, devices } from "playwright-core";

const APP = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".json": "application/json", ".onnx": "application/octet-stream", ".svg": "image/svg+xml",
  ".webmanifest": "application/manifest+json" };

export function serveDist(root, port) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try { if (statSync(file).isDirectory()) file = join(file, "index.html"); } catch { res.writeHead(404).end(); return; }
    let body;
    try { body = readFileSync(file); } catch { res.writeHead(404).end(); return; }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store",
      "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin" });
    res.end(body);
  });
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok(server)));
}

const log = (...a) => console.error("[driver]", ...a);

async function launch(spec) {
  const userDataDir = mkdtempSync(join(tmpdir(), "pocketocr-chromium-"));
  const args = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];
  if (spec.video) args.push(`--use-file-for-fake-video-capture=${spec.video}`);
  const { defaultBrowserType, ...pixel7 } = devices["Pixel 7"];
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    ...pixel7, executablePath: spec.chromium ?? "/usr/bin/chromium", headless: true, args, acceptDownloads: true });
  const requests = [];
  ctx.on("request", (r) => requests.push({ url: r.url(), method: r.method(), body: r.postData() ?? null,
    content_type: r.headers()["content-type"] ?? null }));
  const failed = [];
  ctx.on("requestfailed", (r) => failed.push({ url: r.url(), method: r.method(), error: r.failure()?.errorText ?? "" }));
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`.slice(0, 500)));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`.slice(0, 500)));
  return { ctx, page, requests, failed, consoleLines, close: async () => { await ctx.close(); rmSync(userDataDir, { recursive: true, force: true }); } };
}

async function openApp(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.__pocketocr !== undefined, null, { timeout: 60_000 });
  await page.evaluate(() => window.__pocketocr.ready);
}

async function setCollector(page, url, key) {
  await page.click('[data-tab="settings"]');
  await page.fill("#s-url", url);
  await page.fill("#s-key", key);
  await page.click("#s-save");
}

const shot = async (page, out, name) => {
  if (!out) return null;
  mkdirSync(out, { recursive: true });
  const p = join(out, `${name}.png`);
  await page.screenshot({ path: p });
  return p;
};

const waitScreen = (page, name, timeout = 90_000) =>
  page.waitForSelector(`body[data-screen="${name}"]`, { state: "attached", timeout });
const waitDrained = (page, timeout = 120_000) =>
  page.waitForFunction(() => document.body.dataset.queuePending === "0", null, { timeout, polling: 200 });

async function cardFlow(page, spec, out, prefix) {
  await page.click('[data-tab="card"]');
  await page.click("#card-start");
  await waitScreen(page, "card-scan", 30_000);
  await page.waitForTimeout(300);
  const scanShot = await shot(page, out, `${prefix}card_scanning`);
  const t0 = Date.now();
  await waitScreen(page, "card-result", spec.read_timeout_ms ?? 120_000);
  const seconds = (Date.now() - t0) / 1000;
  const number = (await page.inputValue("#f-number")).replace(/\D/g, "");
  const expiry = (await page.inputValue("#f-expiry")).trim();
  const resultShot = await shot(page, out, `${prefix}card_result`);
  // the test's edit: the user changes one digit of the number (the last), then confirms
  const last = number.slice(-1);
  const edited = number.slice(0, -1) + (last === "7" ? "8" : "7");
  await page.fill("#f-number", edited);
  const editShot = await shot(page, out, `${prefix}card_edited`);
  await page.click("#result-confirm");
  await waitScreen(page, "card-done");
  return { number_ok: number === spec.truth_number, expiry_ok: expiry === (spec.truth_expiry ?? ""),
    number_len: number.length, shown_masked: number ? number.slice(0, 6) + "*".repeat(Math.max(0, number.length - 10)) + number.slice(-4) : "",
    expiry_shown: expiry, seconds_to_result: seconds, screenshots: [scanShot, resultShot, editShot] };
}

async function feedback(page, text) {
  await page.click('[data-tab="feedback"]');
  await page.fill("#fb-text", text);
  await page.selectOption("#fb-category", "wrong_number");
  await page.selectOption("#fb-rating", "4");
  await page.click("#fb-send");
  await page.waitForSelector("#fb-status:has-text('Thank you')");
}

const scenarios = {
  async card(spec, b) {
    await openApp(b.page, spec.app_url);
    await setCollector(b.page, spec.collector, spec.key);
    const r = await cardFlow(b.page, spec, spec.out, "");
    await feedback(b.page, spec.feedback_text);
    await waitDrained(b.page);
    await b.page.click('[data-tab="settings"]');
    r.screenshots.push(await shot(b.page, spec.out, "card_settings_after_upload"));
    return r;
  },

  async offline(spec, b) {
    await openApp(b.page, spec.app_url);
    await setCollector(b.page, spec.collector, spec.key); // nothing listens there yet
    const r = await cardFlow(b.page, spec, spec.out, "offline_");
    await feedback(b.page, spec.feedback_text);
    const queued = await b.page.evaluate(() => window.__pocketocr.queueStats().pending);
    await b.page.click('[data-tab="settings"]');
    await b.page.waitForSelector("#q-status:has-text('waiting')");
    r.screenshots.push(await shot(b.page, spec.out, "offline_queued"));
    const [download] = await Promise.all([b.page.waitForEvent("download"), b.page.click("#q-export")]);
    const exported = readFileSync(await download.path(), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    // let a few retries fail, then ask for the collector
    await b.page.waitForTimeout(spec.offline_ms ?? 4000);
    process.stdout.write("READY_FOR_COLLECTOR\n");
    const rl = createInterface({ input: process.stdin });
    await new Promise((ok) => rl.on("line", (l) => { if (l.trim() === "GO") ok(); }));
    rl.close();
    await waitDrained(b.page, 150_000);
    r.screenshots.push(await shot(b.page, spec.out, "offline_drained"));
    return { ...r, queued, exported_ids: exported.map((e) => e.event_id), exported_types: exported.map((e) => e.type) };
  },

  async formula(spec, b) {
    await openApp(b.page, spec.app_url);
    await setCollector(b.page, spec.collector, spec.key);
    await b.page.click('[data-tab="formula"]');
    await b.page.setInputFiles("#page-file", spec.page_file);
    await waitScreen(b.page, "formula-edit", 120_000);
    const canvas = b.page.locator("#page-canvas");
    const boxesShown = JSON.parse(await canvas.getAttribute("data-boxes"));
    const shots = [await shot(b.page, spec.out, "formula_boxes")];
    const bb = await canvas.boundingBox();
    const { width: W } = await canvas.evaluate((c) => ({ width: c.width }));
    const k = bb.width / W;
    const at = (x, y) => [bb.x + x * k, bb.y + y * k];
    // delete the first box
    let removed = 0;
    if (boxesShown.length) {
      const [x1, y1, x2, y2] = boxesShown[0];
      await b.page.mouse.click(...at((x1 + x2) / 2, (y1 + y2) / 2));
      await b.page.click("#tool-delete");
      removed = 1;
    }
    // adjust the (new) first box: drag its bottom-right corner by 6 px
    const after = JSON.parse(await canvas.getAttribute("data-boxes"));
    let adjusted = 0;
    if (after.length) {
      const [a1, b1, a2, b2] = after[0];
      await b.page.mouse.click(...at((a1 + a2) / 2, (b1 + b2) / 2));
      await b.page.mouse.move(...at(a2, b2));
      await b.page.mouse.down();
      await b.page.mouse.move(...at(a2 + 6, b2 + 6), { steps: 3 });
      await b.page.mouse.up();
      adjusted = 1;
    }
    // draw a missing box in the top-left corner of the page
    await b.page.click("#tool-draw");
    await b.page.mouse.move(...at(10, 10));
    await b.page.mouse.down();
    await b.page.mouse.move(...at(60, 40), { steps: 4 });
    await b.page.mouse.up();
    if (spec.consent) await b.page.check("#consent");
    shots.push(await shot(b.page, spec.out, "formula_edited"));
    const finalBoxes = JSON.parse(await canvas.getAttribute("data-boxes"));
    await b.page.click("#formula-confirm");
    await waitScreen(b.page, "formula-done");
    await waitDrained(b.page);
    shots.push(await shot(b.page, spec.out, "formula_done"));
    return { boxes_shown: boxesShown, final_boxes: finalBoxes, expected_edits: { added: 1, removed, adjusted }, screenshots: shots };
  },

  async replay(spec, b) {
    await openApp(b.page, spec.app_url);
    await setCollector(b.page, spec.collector, spec.key);
    await b.page.click('[data-tab="card"]');
    const rows = [];
    for (const [i, item] of spec.items.entries()) {
      const rgb = readFileSync(item.rgb);
      await b.page.evaluate(async ({ data, w, h }) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        await window.__pocketocr.injectCardStill(bytes, w, h);
      }, { data: rgb.toString("base64"), w: item.width, h: item.height });
      await waitScreen(b.page, "card-result");
      const number = (await b.page.inputValue("#f-number")).replace(/\D/g, "");
      const expiry = (await b.page.inputValue("#f-expiry")).trim();
      const wantExp = item.truth_expiry ?? "";
      const fixNumber = number !== item.truth_number, fixExpiry = expiry !== wantExp;
      if (fixNumber) await b.page.fill("#f-number", item.truth_number);
      if (fixExpiry) await b.page.fill("#f-expiry", wantExp);
      if (i < 2) await shot(b.page, spec.out, `replay_${i}`);
      await b.page.click("#result-confirm");
      await waitScreen(b.page, "card-done");
      rows.push({ file: item.file, number_ok: !fixNumber, expiry_ok: !fixExpiry, corrected: fixNumber || fixExpiry });
      log(`replay ${i + 1}/${spec.items.length}: ${fixNumber || fixExpiry ? "corrected" : "confirmed as read"}`);
    }
    await waitDrained(b.page);
    return { rows, corrected: rows.filter((r) => r.corrected).length, n: rows.length };
  },

  async bench(spec, b) {
    await openApp(b.page, spec.app_url);
    return await b.page.evaluate(async (s) => {
      const bytes = Uint8Array.from(atob(s.card_rgb), (c) => c.charCodeAt(0));
      const pageBytes = s.page_rgb ? Uint8Array.from(atob(s.page_rgb), (c) => c.charCodeAt(0)) : null;
      return await window.__pocketocr.bench(bytes, s.card_w, s.card_h, pageBytes, s.page_w, s.page_h, s.runs, s.warmup);
    }, { card_rgb: readFileSync(spec.card_rgb).toString("base64"), card_w: spec.card_w, card_h: spec.card_h,
      page_rgb: spec.page_rgb ? readFileSync(spec.page_rgb).toString("base64") : null, page_w: spec.page_w, page_h: spec.page_h,
      runs: spec.runs ?? 50, warmup: spec.warmup ?? 5 });
  },
};

async function main() {
  const [name, flag, specPath] = process.argv.slice(2);
  if (!scenarios[name] || flag !== "--spec") {
    console.error(`usage: node e2e/driver.mjs {${Object.keys(scenarios).join("|")}} --spec SPEC.json`);
    process.exit(2);
  }
  const spec = JSON.parse(readFileSync(specPath, "utf8"));
  const server = await serveDist(resolve(spec.dist ?? join(APP, "dist")), spec.port ?? 0);
  spec.app_url = `http://127.0.0.1:${server.address().port}/${spec.query ?? "?nosw"}`;
  const b = await launch(spec);
  let result, error = null;
  try {
    result = await scenarios[name](spec, b);
  } catch (e) {
    error = String(e?.stack ?? e);
    await shot(b.page, spec.out, `${name}_failure`).catch(() => null);
  }
  const out = { scenario: name, ok: error === null, error, result, requests: b.requests, failed_requests: b.failed,
    console: b.consoleLines.slice(-50) };
  await b.close();
  server.close();
  if (spec.result_file) writeFileSync(spec.result_file, JSON.stringify(out));
  process.stdout.write(JSON.stringify({ scenario: name, ok: out.ok, result_file: spec.result_file ?? null }) + "\n");
  process.exit(error ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
