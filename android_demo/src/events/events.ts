/** Schema-v1 events (docs/online.md). Card events carry the masked number only, never an image. */

import { maskNumber } from "../core/card/rules";

export const APP_VERSION = "0.1.0";
export type Task = "card" | "formula";
export type PocketEvent = Record<string, unknown> & { event_id: string; type: string; session_id: string; task: Task };

/** A v4 UUID; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function uuid(): string {
  if (typeof globalThis.crypto?.randomUUID === "function" && globalThis.isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface Device {
  platform: string;
  model: string;
  os: string;
}

/** platform "android" inside the APK or an Android browser, else "web"; model and OS from the user agent. */
export function detectDevice(native: boolean): Device {
  const ua = navigator.userAgent;
  const m = /Android ([0-9.]+)(?:; ([^;)]+))?/.exec(ua);
  if (m) {
    const model = (m[2] ?? "android").replace(/ Build\/.*$/, "").trim() || "android";
    return { platform: "android", model: model.slice(0, 64), os: `Android ${m[1]}` };
  }
  return { platform: native ? "android" : "web", model: "browser", os: (navigator.platform || "unknown").slice(0, 64) };
}

/** "MM/YY"-free, version-safe token: [A-Za-z0-9][A-Za-z0-9._+-]* (schema rule for versions). */
export function versionToken(v: string | undefined): string {
  const t = (v ?? "unknown").replace(/[^A-Za-z0-9._+-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (t || "unknown").slice(0, 64);
}

export interface Common {
  session_id: string;
  task: Task;
  model_version: string;
  device: Device;
}

function base(type: string, c: Common): PocketEvent {
  return { event_id: uuid(), type, ts: new Date().toISOString(), session_id: c.session_id, task: c.task,
    app_version: APP_VERSION, model_version: c.model_version, device: c.device };
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const ms = (x: number) => Math.min(600000, Math.max(0, Math.round(x * 10) / 10));

export function cardResultEvent(c: Common, number: string | null, numberConf: number, expiry: string | null,
  expiryConf: number, modelMs: number, endToEndMs: number): PocketEvent {
  return { ...base("scan_result", c),
    fields: { number: { masked: maskNumber(number), confidence: clamp01(numberConf) },
      expiry: { value: expiry, confidence: clamp01(expiryConf) } },
    latency_ms: { model: ms(modelMs), end_to_end: ms(endToEndMs) } };
}

export interface FieldEdit {
  edited: boolean;
  edit_distance: number;
}

export function cardSubmittedEvent(c: Common, number: FieldEdit, expiry: FieldEdit): PocketEvent {
  const clip = (e: FieldEdit) => ({ edited: e.edited || e.edit_distance > 0, edit_distance: Math.min(64, e.edit_distance) });
  return { ...base("scan_submitted", c), fields: { number: clip(number), expiry: clip(expiry) } };
}

export function formulaResultEvent(c: Common, count: number, modelMs: number, endToEndMs: number): PocketEvent {
  return { ...base("scan_result", c), fields: { boxes: { count } },
    latency_ms: { model: ms(modelMs), end_to_end: ms(endToEndMs) } };
}

export function formulaSubmittedEvent(c: Common, edits: { added: number; removed: number; adjusted: number },
  consent?: { media_type: "image/jpeg" | "image/png"; data: string; boxes: [number, number, number, number, string][] }): PocketEvent {
  const e: PocketEvent = { ...base("scan_submitted", c), fields: { boxes: edits } };
  if (consent) {
    e.consent = true;
    e.image = { media_type: consent.media_type, data: consent.data };
    e.boxes = consent.boxes;
  }
  return e;
}

export function abandonedEvent(c: Common, reason: string): PocketEvent {
  return { ...base("scan_abandoned", c), reason };
}

export function feedbackEvent(c: Common, text: string, category?: string, rating?: number): PocketEvent {
  const e: PocketEvent = { ...base("feedback", c), text: text.slice(0, 2000) };
  if (category) e.category = category;
  if (rating) e.rating = rating;
  return e;
}
