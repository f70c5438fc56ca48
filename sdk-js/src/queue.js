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
 * Returns the queue to keep after adding events: one entry per event id (the latest wins),
 * none older than MAX_AGE at time now, at most max, oldest dropped first.
 */
export function enqueue(queue, events, now, max = MAX_QUEUE) {
  const seen = {};
  return queue
    .concat(events)
    .reverse()
    .filter((e) => e && e.id && !seen[e.id] && (seen[e.id] = now - e.ts < MAX_AGE))
    .slice(0, max)
    .reverse();
}

/** Returns the queue without the events whose ids are in sent. */
export function remove(queue, sent) {
  const ids = {};
  sent.forEach((e) => (ids[e.id] = 1));
  return queue.filter((e) => !ids[e.id]);
}

/**
 * Returns the delay in ms before retry number n (0-based): 2 s doubling up to 5 minutes, times
 * a jitter factor between 0.5 and 1 so that many pages coming back online do not retry in
 * step. rnd returns a number in [0, 1).
 */
export function backoff(n, rnd = Math.random) {
  return Math.min(3e5, 2e3 * 2 ** n) * (0.5 + rnd() / 2);
}
