// The retry queue and its backoff: pure functions over plain arrays, so they run in node
// without a DOM. The snippet keeps the queue in localStorage (or in memory when storage is not
// allowed) and sends it again until the server acknowledges it; the server's dedup by event id
// makes a second delivery harmless.

/** At most this many events wait for a retry: the oldest are dropped first. */
export const MAX_QUEUE = 50;

/**
 * Queued events older than this (ms) are dropped. A day keeps every retry well inside the
 * server's 48-hour dedup window, so a late retry can never be counted twice.
 */
export const MAX_AGE = 864e5;

/**
 * An event whose JSON takes MAX_EVENT bytes or more is dropped: browsers refuse a keepalive
 * fetch or a beacon over 64 KiB (the server's body limit too), so no request could carry it,
 * and kept at the head of the queue it would block every send after it.
 */
export const MAX_EVENT = 6e4;

/**
 * Returns the queue to keep after adding events, in time order (events of the same ts in the
 * order given): one entry per event id (the latest wins), none older than MAX_AGE at time now
 * nor of MAX_EVENT bytes or more, at most max, oldest dropped first.
 */
export function enqueue(queue, events, now, max = MAX_QUEUE) {
  const seen = {};
  return queue
    .concat(events)
    .reverse()
    .filter((e) => e && e.id && !seen[e.id] && (seen[e.id] = now - e.ts < MAX_AGE && new Blob([JSON.stringify(e)]).size < MAX_EVENT))
    .reverse()
    .sort((a, b) => a.ts - b.ts)
    .slice(-max);
}

/** Returns the queue without the events whose ids are in sent. */
export function remove(queue, sent) {
  return queue.filter((e) => !sent.some((s) => s.id == e.id));
}

/**
 * Returns the delay in ms before retry number n (0-based): 2 s doubling up to 5 minutes, times
 * a jitter factor between 0.5 and 1 so that many pages coming back online do not retry in
 * step. rnd returns a number in [0, 1).
 */
export function backoff(n, rnd = Math.random) {
  return Math.min(3e5, 2e3 * 2 ** n) * (0.5 + rnd() / 2);
}
