// The pure parts of the replay chunk (pl-rr.js): what its queue keeps, when a session ends,
// which pages' snapshots went today, and how attributes are masked. Plain functions over
// plain values, so they run in node without a DOM.

import { MAX_AGE } from "./queue.js";

const IDLE = 18e5; // a session ends after 30 minutes without a chunk
/** Queued batches kept at most, oldest dropped first. */
export const MAX_BATCHES = 20;
/** And at most this many bytes of them (localStorage holds about 5 MB). */
export const MAX_QUEUED = 2e6;

// Attributes that show or speak text (a tooltip, an image's alternative, a placeholder, a
// button's label, what a screen reader says) are masked like text; inline event handlers
// (code, which may hold text too) are dropped. rrweb records attributes as they are.
const TEXTY = /^(title|alt|placeholder|label|value|content|summary|aria-(label|description|valuetext|placeholder|roledescription))$/i;
/** Returns t with every character but white space as "*". */
export const stars = (t) => t.replace(/\S/g, "*");
const optedIn = (a) => /(^|\s)pl-unmask(\s|$)/.test(a.class || "") || "data-pl-unmask" in a;

/** Masks the text-bearing attributes of a in place, and drops its event handlers. */
export function maskAttributes(a, unmasked) {
  for (const k in a) {
    if (/^on/i.test(k)) delete a[k];
    else if (!unmasked && TEXTY.test(k) && typeof a[k] == "string") a[k] = stars(a[k]);
  }
}

/** Masks the attributes of a serialized node tree (rrweb's snapshot), under an unmasked ancestor or not. */
export function maskTree(n, unmasked) {
  if (!n) return;
  if (n.attributes) {
    unmasked = unmasked || optedIn(n.attributes);
    maskAttributes(n.attributes, unmasked);
  }
  n.childNodes?.forEach((c) => maskTree(c, unmasked));
}

/**
 * Returns the queue to keep after adding batch b at time now: without batches older than a
 * day, at most MAX_BATCHES of them and MAX_QUEUED bytes of JSON, oldest dropped first.
 */
export function keep(queue, b, now) {
  let size = 0;
  return queue
    .concat(b)
    .filter((x) => x && now - x.ts < MAX_AGE)
    .slice(-MAX_BATCHES)
    .reverse()
    .filter((x) => (size += JSON.stringify(x).length) <= MAX_QUEUED)
    .reverse();
}

/** Returns the session to number the next chunk with: the stored one, or a new one after IDLE. */
export function session(stored, now, mint) {
  return stored && stored.id && now - stored.at < IDLE ? stored : { id: mint(), seq: 0 };
}

/**
 * Returns the map of snapshotted pages to keep after the snapshot of path on day: today's
 * entries only, so that it never grows past the pages of one day.
 */
export function snapped(map, path, day) {
  const out = {};
  for (const k in map) if (map[k] == day) out[k] = day;
  out[path] = day;
  return out;
}
