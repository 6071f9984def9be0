/** Event builders: schema-v1 shapes, masked numbers only. EVENTS_OUT=FILE writes them for the Python schema check. */
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as ev from "../src/events/events";
import { levenshtein } from "../src/core/num";
import { maskNumber } from "../src/core/card/rules";

const c = (task: ev.Task): ev.Common => ({ session_id: ev.uuid(), task, model_version: "card-2026.11.26-abc", device:
  { platform: "android", model: "Pixel 7", os: "Android 14" } });

describe("events", () => {
  const all = [
    ev.cardResultEvent(c("card"), "4111111111111111", 0.97, "09/27", 0.9, 12.34, 250.5),
    ev.cardResultEvent(c("card"), null, 0, null, 0, 10, 20),
    ev.cardSubmittedEvent(c("card"), { edited: true, edit_distance: 1 }, { edited: false, edit_distance: 0 }),
    ev.cardSubmittedEvent(c("card"), { edited: true, edit_distance: 0 }, { edited: false, edit_distance: 99 }),
    ev.abandonedEvent(c("card"), "user_cancelled"),
    ev.feedbackEvent(c("card"), "It read my 8 as a 3", "wrong_number", 2),
    ev.formulaResultEvent(c("formula"), 7, 80, 900),
    ev.formulaSubmittedEvent(c("formula"), { added: 1, removed: 0, adjusted: 2 }),
    ev.formulaSubmittedEvent(c("formula"), { added: 0, removed: 1, adjusted: 0 },
      { media_type: "image/png", data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        boxes: [[0, 0, 0.5, 1, "embedded"], [0.5, 0, 1, 1, "unknown"]] }),
  ];
  it("card events carry the masked number only", () => {
    const s = JSON.stringify(all.slice(0, 6));
    expect(s).not.toContain("4111111111111111");
    expect((all[0].fields as any).number.masked).toBe("411111******1111");
    expect(maskNumber("378282246310005")).toBe("378282*****0005");
    expect((all[3].fields as any).expiry).toEqual({ edited: true, edit_distance: 64 });
  });
  it("uuids are v4 and never digit runs", () => {
    for (let i = 0; i < 200; i++) expect(ev.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it("levenshtein", () => {
    expect(levenshtein("4111111111111111", "4111111111111117")).toBe(1);
    expect(levenshtein("", "09/27")).toBe(5);
    expect(levenshtein("09/27", "09/28")).toBe(1);
    expect(levenshtein("1234", "2134")).toBe(2);
  });
  it("writes the events for the schema check", () => {
    if (process.env.EVENTS_OUT) writeFileSync(process.env.EVENTS_OUT, JSON.stringify(all));
  });
});
