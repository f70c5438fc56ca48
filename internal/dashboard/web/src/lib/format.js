// Number, money, time and duration formats, in the browser's locale.

// One form per kind of number, so that a column never mixes 3 / 25.02 / 289.8: counts are
// whole numbers; fractional figures (attributed conversions, rates per second) have one
// decimal; ratios (ROAS) two; money two, with the currency when it is known; rates are
// percentages with one decimal.
const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decFmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const ratioFmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const moneyFmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const pctFmt = new Intl.NumberFormat(undefined, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });

export const dash = "–";

/** int formats a count. */
export const int = (n) => (n == null || Number.isNaN(n) ? dash : intFmt.format(n));

/** dec formats a fractional figure with one decimal (attributed conversions: 289.8). */
export const dec = (n) => (n == null || Number.isNaN(n) ? dash : decFmt.format(n));

/** ratio formats a ratio with two decimals and a times sign (ROAS: 3.25×). */
export const ratio = (n) => (n == null || Number.isNaN(n) ? dash : ratioFmt.format(n) + "×");

/** pct formats a rate (0.123 → 12.3%); null is undefined. */
export const pct = (r) => (r == null || Number.isNaN(r) ? dash : pctFmt.format(r));

/**
 * niceRate rounds a rate up to a clean end for a scale from 0: a multiple of 10% above 10%,
 * 1, 2 or 5 times a power of ten below, and never past 100%.
 */
export function niceRate(r) {
  if (!(r > 0) || r >= 1) return 1;
  if (r > 0.1) return Math.ceil(r * 10 - 1e-9) / 10;
  const p = 10 ** Math.floor(Math.log10(r));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => r <= v * (1 + 1e-9));
}

const scaleFmt = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 2 });

/** pctScale formats a mark of a scale without trailing zeros (0%, 60%, 2.5%). */
export const pctScale = (r) => scaleFmt.format(r);

/** signedPct formats a change with its sign (+4.2%). */
export const signedPct = (r) => (r == null || Number.isNaN(r) ? dash : (r > 0 ? "+" : "") + pctFmt.format(r));

/**
 * money formats an amount with two decimals, in currency when known (the spend's: see
 * docs/analytics.md), else as a plain number.
 */
export function money(n, currency) {
  if (n == null || Number.isNaN(n)) return dash;
  if (currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n);
    } catch {
      // an unknown currency code: plain number below
    }
  }
  return moneyFmt.format(n);
}

/**
 * label names a step, stage or other rule id for people: "viewed_product" → "Viewed
 * product". Ids stay as they are where they must be typed (rules, URLs).
 */
export function label(id) {
  if (id == null || id === "") return dash;
  const s = String(id).replace(/[_-]+/g, " ").trim();
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : String(id);
}

/** duration formats seconds as the two largest units (3d 4h, 5m 12s). */
export function duration(s) {
  if (s == null || Number.isNaN(s)) return dash;
  s = Math.round(s);
  const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
  const parts = [];
  for (const [u, n] of units) {
    if (s >= n || (u === "s" && !parts.length)) {
      parts.push(Math.floor(s / n) + u);
      s %= n;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** time formats Unix ms or an RFC 3339 string as a local date and time. */
export function time(t) {
  if (t == null || t === "") return dash;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? dash : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** clock formats Unix ms as a time of day. */
export const clock = (t) => new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** day formats a YYYY-MM-DD date (UTC) for an axis. */
export function day(iso) {
  const d = new Date(iso + "T00:00:00Z");
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}
