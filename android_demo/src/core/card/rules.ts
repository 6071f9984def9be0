/** Payment-card rules, a port of pocketocr/tasks/card/rules.py (Luhn, brands, lengths, expiry, masking). */

interface Brand {
  name: string;
  ranges: [number, number][];
  lengths: number[];
  groupings: Record<number, number[][]>;  // printed groupings by length
}

// Ordered most specific first, as BRANDS in rules.py.
export const BRANDS: Brand[] = [
  { name: "amex", ranges: [[34, 34], [37, 37]], lengths: [15],
    groupings: { 15: [[4, 6, 5]] } },
  { name: "elo", ranges: [[504175, 504175], [506699, 506778], [509000, 509999], [627780, 627780], [636297, 636297],
      [636368, 636368], [650031, 650033], [650035, 650051], [650405, 650439], [650485, 650538], [650541, 650598],
      [650700, 650718], [650720, 650727], [650901, 650978], [651652, 651679], [655000, 655019], [655021, 655058]],
    lengths: [16], groupings: { 16: [[4, 4, 4, 4]] } },
  { name: "verve", ranges: [[506099, 506198], [507865, 507964], [650002, 650027]], lengths: [16, 18, 19],
    groupings: { 16: [[4, 4, 4, 4]], 18: [[4, 4, 4, 6]], 19: [[4, 4, 4, 4, 3]] } },
  { name: "diners", ranges: [[300, 305], [36, 36], [38, 39]], lengths: [14, 16],
    groupings: { 14: [[4, 6, 4]], 16: [[4, 4, 4, 4]] } },
  { name: "jcb", ranges: [[3528, 3589]], lengths: [16, 19],
    groupings: { 16: [[4, 4, 4, 4]], 19: [[4, 4, 4, 4, 3]] } },
  { name: "discover", ranges: [[6011, 6011], [644, 649], [65, 65]], lengths: [16, 19],
    groupings: { 16: [[4, 4, 4, 4]], 19: [[4, 4, 4, 4, 3]] } },
  { name: "unionpay", ranges: [[62, 62], [81, 81]], lengths: [16, 17, 18, 19],
    groupings: { 16: [[4, 4, 4, 4]], 17: [[4, 4, 4, 5], [6, 11]], 18: [[6, 12], [4, 4, 4, 6]], 19: [[4, 4, 4, 4, 3], [6, 13]] } },
  { name: "mastercard", ranges: [[51, 55], [2221, 2720]], lengths: [16],
    groupings: { 16: [[4, 4, 4, 4]] } },
  { name: "maestro", ranges: [[5018, 5018], [5020, 5020], [5038, 5038], [5893, 5893], [6304, 6304], [6759, 6759], [6761, 6763]], lengths: [16, 18, 19],
    groupings: { 16: [[4, 4, 4, 4]], 18: [[4, 4, 4, 6]], 19: [[4, 4, 4, 4, 3]] } },
  { name: "mir", ranges: [[2200, 2204]], lengths: [16, 19],
    groupings: { 16: [[4, 4, 4, 4]], 19: [[4, 4, 4, 4, 3]] } },
  { name: "rupay", ranges: [[60, 60], [652, 652]], lengths: [16],
    groupings: { 16: [[4, 4, 4, 4]] } },
  { name: "troy", ranges: [[9792, 9792]], lengths: [16],
    groupings: { 16: [[4, 4, 4, 4]] } },
  { name: "napas", ranges: [[9704, 9704]], lengths: [16, 19],
    groupings: { 16: [[4, 4, 4, 4]], 19: [[4, 4, 4, 4, 3]] } },
  { name: "uzcard", ranges: [[8600, 8600]], lengths: [16],
    groupings: { 16: [[4, 4, 4, 4]] } },
  { name: "humo", ranges: [[9860, 9860]], lengths: [16],
    groupings: { 16: [[4, 4, 4, 4]] } },
  { name: "dankort", ranges: [[5019, 5019]], lengths: [16],
    groupings: { 16: [[4, 4, 4, 4]] } },
  { name: "visa", ranges: [[4, 4]], lengths: [13, 16, 19],
    groupings: { 13: [[4, 3, 3, 3]], 16: [[4, 4, 4, 4]], 19: [[4, 4, 4, 4, 3]] } },
];

const isDigits = (s: string) => s.length > 0 && /^[0-9]+$/.test(s);

export function luhnValid(number: string): boolean {
  if (!isDigits(number) || number.length < 2) return false;
  let total = 0;
  for (let i = 0; i < number.length; i++) {
    let d = number.charCodeAt(number.length - 1 - i) - 48;
    if (i % 2 === 1) d = d > 4 ? d * 2 - 9 : d * 2;
    total += d;
  }
  return total % 10 === 0;
}

/** The first BRANDS row whose IIN prefix matches the number (brand_row in rules.py). */
function brandRow(number: string): Brand | null {
  for (const b of BRANDS) {
    for (const [low, high] of b.ranges) {
      const width = String(low).length;
      if (number.length >= width) {
        const v = parseInt(number.slice(0, width), 10);
        if (low <= v && v <= high) return b;
      }
    }
  }
  return null;
}

export function brandOf(number: string): string | null {
  return brandRow(number)?.name ?? null;
}

/** True when `groups` (digits per printed group) is a grouping the number's brand prints at its length (printed_grouping). */
export function printedGrouping(number: string, groups: number[]): boolean {
  const b = brandRow(number);
  return (b?.groupings[number.length] ?? []).some((g) => g.length === groups.length && g.every((v, i) => v === groups[i]));
}

export function plausibleLength(number: string): boolean {
  const b = brandRow(number);
  if (b) return b.lengths.includes(number.length);
  return number.length >= 13 && number.length <= 19;
}

/** A length that fits the brand and a first digit other than 0 (plausible_number in rules.py). */
export function plausibleNumber(number: string): boolean {
  return !number.startsWith("0") && plausibleLength(number);
}

export function parseExpiry(text: string): string | null {
  let t = text.trim();
  if (t.length === 4 && isDigits(t)) t = t.slice(0, 2) + "/" + t.slice(2);
  const m = /^(\d{2})\/(\d{2})$/.exec(t);
  if (!m) return null;
  const mm = parseInt(m[1], 10);
  return mm >= 1 && mm <= 12 ? t : null;
}

/** First 6 and last 4 digits at most, the rest as '*'. */
export function maskNumber(number: string | null): string | null {
  if (number === null) return null;
  const digits = number.replace(/[^0-9]/g, "");
  if (digits.length <= 10) return "*".repeat(digits.length);
  return digits.slice(0, 6) + "*".repeat(digits.length - 10) + digits.slice(-4);
}
