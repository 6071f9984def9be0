/**
 * The offline event queue: every event is written to IndexedDB first, then uploaded in batches.
 * A failed upload (offline, 5xx, no collector) is retried with exponential backoff and jitter, always with the
 * same event ids, so the collector stores each event once. A 4xx other than 408/429 will not change on retry:
 * the batch is kept as "rejected" (still exportable) and not retried.
 */

import type { PocketEvent } from "./events";

const DB = "pocketocr-demo";
const STORE = "events";
const MAX_EVENTS = 500;
const MAX_BODY = 1_000_000; // under the collector's 1 MiB
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

export interface Row {
  event_id: string;
  event: PocketEvent;
  seq: number;
  state: "pending" | "rejected";
  attempts: number;
  next_at: number;
  error?: string;
}

export interface Settings {
  collectorUrl: string;
  apiKey: string;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "event_id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx<T>(db: IDBDatabase, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T> | void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export interface QueueStats {
  pending: number;
  rejected: number;
  sent: number;
  duplicates: number;
  lastError: string | null;
  uploading: boolean;
}

export class EventQueue {
  private db: Promise<IDBDatabase> = open();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> | null = null;
  readonly stats: QueueStats = { pending: 0, rejected: 0, sent: 0, duplicates: 0, lastError: null, uploading: false };
  onChange: () => void = () => {};

  constructor(private settings: () => Settings, private fetchFn: typeof fetch = (...a) => fetch(...a)) {
    globalThis.addEventListener?.("online", () => this.kick());
    this.refresh().then(() => this.kick());
  }

  async add(event: PocketEvent): Promise<void> {
    const db = await this.db;
    const row: Row = { event_id: event.event_id, event, seq: this.nextSeq(),
      state: "pending", attempts: 0, next_at: 0 };
    await tx(db, "readwrite", (s) => s.put(row));
    await this.refresh();
    this.kick();
  }

  private lastSeq = 0;
  /** Increasing across page loads (time based) and within one millisecond (counter). */
  private nextSeq(): number {
    this.lastSeq = Math.max(this.lastSeq + 1, Date.now() * 1000);
    return this.lastSeq;
  }

  async all(): Promise<Row[]> {
    const rows = ((await tx(await this.db, "readonly", (s) => s.getAll())) ?? []) as Row[];
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /** Queued and rejected events as JSON lines (the export for a phone without a collector). */
  async exportJsonl(): Promise<string> {
    return (await this.all()).map((r) => JSON.stringify(r.event)).join("\n") + "\n";
  }

  /** Retry every pending event now (the Settings screen's "Send now"). */
  async sendNow(): Promise<void> {
    const db = await this.db;
    const rows = (await this.all()).filter((r) => r.state === "pending");
    await tx(db, "readwrite", (s) => { for (const r of rows) { r.next_at = 0; s.put(r); } });
    this.kick();
  }

  async clear(): Promise<void> {
    await tx(await this.db, "readwrite", (s) => s.clear());
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    const rows = await this.all();
    this.stats.pending = rows.filter((r) => r.state === "pending").length;
    this.stats.rejected = rows.filter((r) => r.state === "rejected").length;
    this.onChange();
  }

  /** Try to upload now (and schedule the next try). */
  kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.flushing) this.flushing = this.flush().finally(() => { this.flushing = null; });
  }

  private schedule(delay: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(50, delay));
  }

  private async flush(): Promise<void> {
    const { collectorUrl, apiKey } = this.settings();
    const rows = (await this.all()).filter((r) => r.state === "pending");
    if (!rows.length) return;
    if (!collectorUrl || !apiKey) {
      this.stats.lastError = "no collector set: events stay on the phone";
      this.onChange();
      return; // settings change calls kick()
    }
    const t = Date.now();
    const due = rows.filter((r) => r.next_at <= t);
    if (!due.length) {
      this.schedule(Math.min(...rows.map((r) => r.next_at)) - t);
      return;
    }
    const batch = this.nextBatch(due);
    this.stats.uploading = true;
    this.onChange();
    let status = 0, error = "";
    try {
      const res = await this.fetchFn(new URL("v1/events", collectorUrl.endsWith("/") ? collectorUrl : collectorUrl + "/").href, {
        method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(batch.map((r) => r.event)),
      });
      status = res.status;
      if (res.ok) {
        const body = await res.json().catch(() => ({}));
        this.stats.sent += Number(body.accepted ?? 0);
        this.stats.duplicates += Number(body.duplicates ?? 0);
      } else error = `HTTP ${res.status}`;
    } catch (e) {
      error = `network: ${(e as Error).message}`;
    }
    const db = await this.db;
    if (status === 200) {
      await tx(db, "readwrite", (s) => { for (const r of batch) s.delete(r.event_id); });
      this.stats.lastError = null;
    } else {
      const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
      // one delay for the whole batch (exponential in its tries, +-25% jitter), so it is retried as one batch
      const attempts = Math.max(...batch.map((r) => r.attempts)) + 1;
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (attempts - 1)) * (0.75 + 0.5 * Math.random());
      const nextAt = Date.now() + backoff;
      await tx(db, "readwrite", (s) => {
        for (const r of batch) {
          r.attempts = attempts;
          if (permanent) r.state = "rejected";
          r.next_at = nextAt;
          r.error = error;
          s.put(r);
        }
      });
      this.stats.lastError = error;
    }
    this.stats.uploading = false;
    await this.refresh();
    const left = (await this.all()).filter((r) => r.state === "pending");
    if (left.length) this.schedule(Math.min(...left.map((r) => r.next_at)) - Date.now());
  }

  /** Oldest events first, at most 500 and under 1 MB; an event with an image travels alone. */
  private nextBatch(rows: Row[]): Row[] {
    const out: Row[] = [];
    let size = 2;
    for (const r of rows) {
      const n = new TextEncoder().encode(JSON.stringify(r.event)).length + 1;
      const hasImage = "image" in r.event;
      if (hasImage) return out.length ? out : [r];
      if (out.length >= MAX_EVENTS || size + n > MAX_BODY) break;
      out.push(r);
      size += n;
    }
    return out;
  }
}
