/** The offline queue: IndexedDB first, batches, backoff, the same event ids on every retry, 4xx kept as rejected. */
import "fake-indexeddb/auto";
import { describe, expect, it, vi } from "vitest";
import { EventQueue } from "../src/events/queue";
import { feedbackEvent, type PocketEvent } from "../src/events/events";

const device = { platform: "web", model: "browser", os: "test" };
const ev = (text: string) => feedbackEvent({ session_id: "s-1", task: "card", model_version: "card-1", device }, text, "other");

function fakeCollector(statuses: number[]) {
  const bodies: PocketEvent[][] = [];
  const fn = vi.fn(async (_url: string | URL | Request, init?: RequestInit) => {
    const batch = JSON.parse(String(init!.body)) as PocketEvent[];
    bodies.push(batch);
    const status = statuses.length ? statuses.shift()! : 200;
    if (status === 0) throw new TypeError("Failed to fetch");
    return new Response(JSON.stringify({ accepted: batch.length, duplicates: 0 }), { status });
  });
  return { fn, bodies };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 20_000) {
  const t = Date.now();
  while (!(await cond())) {
    if (Date.now() - t > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("EventQueue", () => {
  it("keeps events while there is no collector, then sends each once with the same id after failures", async () => {
    let settings = { collectorUrl: "", apiKey: "" };
    const col = fakeCollector([0, 503]); // offline, then the database is down, then 200
    const q = new EventQueue(() => settings, col.fn as unknown as typeof fetch);
    await q.clear();
    const events = [ev("one"), ev("two"), ev("three")];
    for (const e of events) await q.add(e);
    expect((await q.all()).map((r) => r.event_id)).toEqual(events.map((e) => e.event_id));
    expect(col.fn).not.toHaveBeenCalled();
    expect((await q.exportJsonl()).trim().split("\n").map((l) => JSON.parse(l).event_id)).toEqual(events.map((e) => e.event_id));
    settings = { collectorUrl: "http://127.0.0.1:9/", apiKey: "k" };
    await q.sendNow();
    await until(async () => (await q.all()).length === 0);
    expect(col.bodies.length).toBe(3);
    for (const b of col.bodies) expect(b).toEqual(events); // identical events, identical ids, every try
    const rows = await q.all();
    expect(rows).toEqual([]);
    expect(q.stats.sent).toBe(3);
  });

  it("backs off exponentially between failed tries", async () => {
    const col = fakeCollector([0, 0, 0, 0, 0, 0, 0, 0]);
    const q = new EventQueue(() => ({ collectorUrl: "http://127.0.0.1:9", apiKey: "k" }), col.fn as unknown as typeof fetch);
    await q.clear();
    await q.add(ev("x"));
    await until(() => col.fn.mock.calls.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    const [row] = await q.all();
    expect(row.attempts).toBe(1);
    expect(row.next_at - Date.now()).toBeGreaterThan(500); // 1 s +-25%
    await q.clear();
  });

  it("keeps a batch the collector refuses (4xx) as rejected, without retrying it", async () => {
    const col = fakeCollector([422]);
    const q = new EventQueue(() => ({ collectorUrl: "http://127.0.0.1:9", apiKey: "k" }), col.fn as unknown as typeof fetch);
    await q.clear();
    await q.add(ev("bad"));
    await until(async () => (await q.all())[0]?.state === "rejected");
    await new Promise((r) => setTimeout(r, 1500));
    expect(col.fn).toHaveBeenCalledTimes(1);
    expect(q.stats.rejected).toBe(1);
    await q.clear();
  });

  it("sends an event with an image in a batch of its own", async () => {
    const col = fakeCollector([]);
    const settings = { collectorUrl: "", apiKey: "" };
    const q = new EventQueue(() => settings, col.fn as unknown as typeof fetch);
    await q.clear();
    const img = { ...ev("page"), image: { media_type: "image/png", data: "AAAA" }, consent: true, boxes: [] } as PocketEvent;
    for (const e of [ev("a"), img, ev("b")]) await q.add(e);
    Object.assign(settings, { collectorUrl: "http://127.0.0.1:9", apiKey: "k" });
    await q.sendNow();
    await until(async () => (await q.all()).length === 0);
    expect(col.bodies.map((b) => b.length)).toEqual([1, 1, 1]);
    expect(col.bodies[1][0].image).toBeDefined();
  });
});
