// Building what goes on the wire: event ids, flat props and the request body of POST /v1/hit
// and /v1/beacon. Pure functions (the crypto object is passed in), runnable in node.

/**
 * Returns a random version 4 uuid: crypto.randomUUID where the page is a secure context, else
 * the one a blob URL carries (browsers mint those from a secure random source on plain http
 * too; the empty blob is a few bytes, freed with the page).
 */
export function uuid(c = crypto) {
  return c.randomUUID ? c.randomUUID() : URL.createObjectURL(new Blob()).slice(-36);
}

/**
 * Returns the flat props the server accepts: string, number and boolean values only; nested
 * objects, arrays, null and functions are dropped rather than have the event rejected.
 */
export function flat(o) {
  const out = {};
  for (const k in o) if (/^(s|n|bo)/.test(typeof o[k])) out[k] = o[k];
  return out;
}

/**
 * Returns the JSON body of a hit: the site, the consent the visitor gave ("granted" or
 * "denied"; left out when the site did not say), the visitor id the page keeps (left out when
 * none) and the events, plus the page slots to decide when there are any.
 */
export function body(site, consent, events, slots, vid) {
  const b = { site };
  if (consent) b.consent = consent;
  if (vid) b.vid = vid;
  b.events = events;
  if (slots?.[0]) b.slots = slots;
  return JSON.stringify(b);
}
