// Pathlight heatmap capture (pl-hm.js): loaded by pl.js only for a pageview the server's
// capture rules sampled (the hit reply's decisions.capture.heatmap). It records each click on
// the page: a stable selector of the element, where in the element and on the page it
// landed, whether it completed a rage burst (3 clicks within a second within 30 px) and
// whether it was dead (neither a link nor a form control, and within a second nothing in the
// DOM changed and the URL stayed); and, once, the deepest scroll of the pageview. Batches go
// to POST /v1/capture through a queue of their own with the snippet's retry rules
// (queue.js). Nothing is recorded, stored or sent without consent or with Global Privacy
// Control. The visitor id goes with the batch (pl.js's copy and the cookie, as with a hit) so
// that the server counts the clicks under the visitor's channel, segments, arms and steps
// too; it is not stored.
//
// pl.js only adds the script tag and keeps the decision it last answered on its function (api.c,
// {rule, heatmap, replay}; its budget has no room for more): this chunk records clicks when
// the decision says heatmap, and loads the replay chunk (pl-rr.js) once when it says replay
// and consent allows. The chunk finds the
// snippet's tag for the site and the API's origin, reads consent as pl.js keeps it (Global
// Privacy Control, the stored grant of a data-consent="required" site) and hears later calls
// of pathlight('consent', …) by wrapping the pathlight function. pl.js adds the tag again for
// each reply that samples the view; the first copy to run keeps capturing and is told of the
// view (an SPA route) by the later ones.

import { backoff, MAX_AGE } from "./queue.js";
import { pageUrl } from "./url.js";
import { uuid } from "./payload.js";
import { depth } from "./engage.js";

const w = window;
const d = document;
const Q = "pl_hq"; // localStorage: capture batches not yet acknowledged
const GRANTED = "granted";
const RAGE_MS = 1e3;
const RAGE_PX = 30;
const DEAD_MS = 1e3;
// Clicks on these never count as dead: a link navigates, a form control takes input.
const LIVE = "a[href],input,select,textarea,label,option";

const me = [...d.scripts].find((s) => s.dataset.site && s.src) || {};
const cfg = me.dataset || {};
const origin = me.src && new URL(cfg.api || me.src).origin;
let denied = 0; // pathlight('consent', 'denied') since the chunk loaded
let url; // the sampled view's reported URL
let clicks = []; // recorded clicks not yet in a batch (ready: their dead-click verdict is in)
let recent = []; // the last clicks, for rage bursts: [time, x, y]
let changes = 0; // DOM mutations so far
let scroll = 0; // deepest scroll of the pageview, in percent
let ended = 0; // the pageview's scroll depth is sent
let busy = 0;
let pause = 0;
let tries = 0;
let timer;
let rr; // pl-rr.js is loaded

const now = () => Date.now();
// consent returns "denied", "granted", "" (the site does not ask) or 0 (it asks, no answer).
const consent = () => {
  let grant;
  try {
    grant = localStorage.pl_c;
  } catch (e) {}
  return navigator.globalPrivacyControl || denied ? "denied" : grant ? GRANTED : cfg.consent == "required" ? 0 : "";
};
const ok = () => consent() === "" || consent() == GRANTED;
const here = () => pageUrl(location.href) == url;
const storage = (v) => {
  try {
    return !v ? JSON.parse(localStorage[Q] || "[]") : v.length ? (localStorage[Q] = JSON.stringify(v)) : delete localStorage[Q];
  } catch (e) {
    return [];
  }
};

/**
 * Returns a selector of el that stays the same across pageviews: its id when it has a
 * plausible one, else the path of tag names (with :nth-of-type where siblings share the tag)
 * from the nearest ancestor with an id, or from body, at most 5 levels deep.
 */
export function selector(el) {
  const parts = [];
  for (let n = el; n && n.nodeType == 1 && parts.length < 5; n = n.parentElement) {
    if (n.id && /^[A-Za-z][\w-]{0,63}$/.test(n.id)) {
      parts.unshift("#" + n.id);
      break;
    }
    const tag = n.localName;
    if (tag == "body" || tag == "html") break;
    const same = n.parentElement ? [...n.parentElement.children].filter((c) => c.localName == tag) : [];
    parts.unshift(same.length > 1 ? `${tag}:nth-of-type(${same.indexOf(n) + 1})` : tag);
  }
  return parts.join(">") || "body";
}

const clamp = (v) => Math.min(1, Math.max(0, v || 0));

function click(e) {
  const el = e.target?.nodeType == 1 ? e.target : e.target?.parentElement;
  if (!el || !here() || !ok()) return;
  const r = el.getBoundingClientRect();
  const t = now();
  const c = {
    s: selector(el).slice(0, 256),
    x: clamp((e.clientX - r.left) / r.width),
    y: clamp((e.clientY - r.top) / r.height),
    px: Math.max(0, Math.round(e.pageX)),
    py: Math.max(0, Math.round(e.pageY)),
  };
  recent = recent.filter(([at, x, y]) => t - at < RAGE_MS && Math.abs(x - e.clientX) < RAGE_PX && Math.abs(y - e.clientY) < RAGE_PX);
  recent.push([t, e.clientX, e.clientY]);
  if (recent.length == 3) (c.r = true), (recent = []);
  const m = changes;
  const at = location.href;
  const live = el.closest(LIVE);
  clicks.push(c);
  // The verdict comes a second later; a click whose page goes away meanwhile navigated, and
  // goes, not dead, with the batch of the page hide.
  setTimeout(() => {
    if (!live && changes == m && location.href == at) c.d = true;
    c.ready = 1;
    later();
  }, DEAD_MS);
}

// later batches the clicks of the next two seconds together.
const later = () => (timer = timer || setTimeout(() => ((timer = 0), batch()), 2e3));

// batch queues what was recorded as one batch; end adds the pageview's scroll depth and takes
// the clicks still waiting for a verdict as live (the page is going away).
function batch(end) {
  const cs = end ? clicks : clicks.filter((c) => c.ready);
  clicks = clicks.filter((c) => !cs.includes(c));
  const b = { id: uuid(), ts: now(), site: cfg.site, url, w: innerWidth, clicks: cs.map(({ ready, ...c }) => c) };
  if (consent()) b.consent = consent();
  try {
    b.vid = localStorage.pl_vid; // pl.js's copy, when there is one: for the report's filters only
  } catch (e) {}
  if (end && !ended) (b.scroll = scroll), (ended = 1);
  if (!ok() || !(cs.length || "scroll" in b)) return;
  // The queue keeps the last 20 batches of the last day (they come in time order, each with
  // an id of its own, so pl.js's enqueue, which sorts and dedupes events, has nothing to do).
  storage(storage().concat(b).filter((x) => x && now() - x.ts < MAX_AGE).slice(-20));
  flush(end);
}

const drop = (b) => storage(storage().filter((x) => x.id != b.id));

// flush sends the queued batches one at a time, as pl.js sends hits: a failure (network,
// 5xx, 429) pauses for the backoff and keeps the batch; other refusals drop it. At page
// hide, sendBeacon sends every batch and outlives the page.
function flush(hide) {
  const q = storage();
  if (!ok()) return storage([]);
  if (hide) return q.forEach((b) => navigator.sendBeacon(origin + "/v1/capture", JSON.stringify(b)) && drop(b));
  if (busy || pause || !q.length) return;
  busy = 1;
  const b = q[0];
  fetch(origin + "/v1/capture", { method: "POST", body: JSON.stringify(b), keepalive: true, credentials: "include" })
    .then((r) => {
      if (r.status > 499 || r.status == 429) throw r;
      drop(b);
      tries = 0;
    })
    .catch(() => {
      pause = 1;
      setTimeout(() => ((pause = 0), flush()), backoff(tries++));
    })
    .finally(() => {
      busy = 0;
      if (!pause) flush();
    });
}

function measure() {
  if (here()) scroll = Math.max(scroll, depth(w.scrollY, w.innerHeight, d.documentElement.scrollHeight));
}

function hide() {
  if (d.visibilityState == "hidden" && here()) measure(), batch(1);
}

// start captures the current view, which the server sampled: the decision is the one pl.js
// last answered (api.c, {rule, heatmap, replay, snapshot}). A view sampled for replay loads
// the replay chunk (pl-rr.js), once, with consent, and so does one whose page the server asks
// a snapshot of in this viewport's band (the chunk then sends the snapshot alone); one
// sampled for replay only records no clicks.
function start() {
  const c = api.c || {};
  const x = innerWidth;
  if ((c.replay || c.snapshot?.includes(x < 768 ? "phone" : x < 1200 ? "tablet" : "desktop")) && !rr && ok())
    rr = d.head.appendChild(d.createElement("script")).src = new URL("pl-rr.js", me.src);
  const u = c.heatmap && pageUrl(location.href);
  if (u == url || !origin) return;
  if (url && !ended) batch(1); // an SPA route left the sampled view
  url = u;
  if (!u) return;
  scroll = ended = 0;
  recent = [];
  measure();
  if (start.on) return flush();
  start.on = 1;
  new MutationObserver(() => changes++).observe(d.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
  const on = (t, type, f) => t.addEventListener(type, f, true);
  on(d, "click", click);
  on(w, "scroll", measure);
  on(d, "visibilitychange", hide);
  on(w, "pagehide", () => here() && batch(1));
  on(w, "online", () => flush());
  flush();
}

const api = w.pathlight;
if (api?.hm) api.hm();
else if (api) {
  w.pathlight = Object.assign(function (cmd, a) {
    if (cmd == "consent") denied = a != GRANTED;
    return api.apply(this, arguments);
  }, api, { hm: start, o: api });
  start();
}
