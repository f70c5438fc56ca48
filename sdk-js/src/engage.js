// Engagement measures, free of the DOM: engaged time (the page visible and focused) and the
// maximum scroll depth. The snippet reports engaged time as deltas, so a page hidden and shown
// again several times adds up to its true total on the server.

/** Returns the scroll depth in percent with the viewport at top, of height view, over a document of height full. */
export function depth(top, view, full) {
  return full > view ? Math.min(100, Math.round(((top + view) / full) * 100)) : 100;
}

/**
 * Returns an engaged-time meter: meter(active, now) says whether the page is engaged from time
 * now on, and returns the engaged ms counted since the last call that passed take = true.
 */
export function meter() {
  let ms = 0;
  let since = 0; // when the current engaged stretch began (times are never 0); 0 when not engaged
  return (active, now, take) => {
    ms += since && now - since;
    since = active && now;
    const v = ms;
    if (take) ms = 0;
    return v;
  };
}
