// Pathlight session replay (pl-rr.js): loaded by the heatmap chunk (pl-hm.js) only for a
// pageview the server's capture rules sampled for replay (decisions.capture.replay), and only
// with consent. It records the page with rrweb's recorder and sends what it recorded to
// POST /v1/replay every few seconds and at page hide.
//
// Privacy by default, whatever the page does:
// - every input's value is masked (each character becomes "*"), and a password field is
//   never recorded at all: it is blocked like a pl-block element, and its value, should a
//   script make one a password field later, is recorded as nothing;
// - every text on the page is masked unless the element (or an ancestor) has the class
//   pl-unmask or the attribute data-pl-unmask;
// - an element with the class pl-block or the attribute data-pl-block is left out whole
//   (the recording shows an empty box of its size);
// - nothing is recorded or sent without consent or with Global Privacy Control, and a
//   withdrawal of consent (pathlight('consent', 'denied')) stops the recording and drops
//   what was not sent.
//
// The first full snapshot of a page each day also goes to the server as the page's latest
// snapshot ("snapshot": true on its chunk), which the dashboard's Heatmaps view draws the
// click map over.
//
// Snapshot-only mode: pl-hm.js also loads this chunk for a pageview sampled for heatmaps
// alone when the server asks for the page's snapshot in the visitor's viewport band
// (decisions.capture.snapshot, asked of one visitor per page, band and day). The chunk then
// records only the page's first full snapshot, with the same privacy defaults, sends it as a
// snapshot-only chunk ("snapshot": true, no session, no seq: no recorded session is made of
// it) and stops recording.
//
// A recorded session is the run of the tab's sampled pageviews: its id is kept in the tab's
// sessionStorage until 30 minutes pass without a chunk, and its chunks are numbered. A view
// the rules do not sample (an SPA route outside the rule's pages) is not recorded: the
// recording pauses, and takes a full snapshot when a sampled view comes back.
//
// Batches go through a queue of their own with the snippet's retry rules (queue.js): one
// request at a time, compressed with the browser's CompressionStream (gzip; the server knows
// it by its magic bytes, since a page cannot set Content-Encoding without a CORS preflight);
// a failure (network, 5xx, 429) waits for the backoff and keeps the batch, other refusals
// drop it; at page hide, sendBeacon sends what is queued as JSON (a beacon cannot wait for
// compression), and what a beacon cannot take (over 64 KiB) waits in localStorage for the next
// sampled page.

import { record } from "@rrweb/record";
import { remove, backoff } from "./queue.js";
import { keep, session, snapped, maskAttributes, maskTree, stars } from "./replayparts.js";
import { pageUrl } from "./url.js";
import { uuid } from "./payload.js";

const w = window;
const d = document;
const Q = "pl_rq"; // localStorage: replay batches not yet acknowledged
const S = "pl_rs"; // sessionStorage: the tab's recorded session {id, seq, at}
const SN = "pl_sn"; // localStorage: {path: UTC day} of the pages whose snapshot went today
const GRANTED = "granted";
const EVERY = 5e3; // a batch every 5 seconds

/** rrweb's recording options: Pathlight's privacy defaults. */
export const UNMASK = ".pl-unmask,[data-pl-unmask]";
export const options = {
  maskAllInputs: true,
  maskTextSelector: "*",
  maskTextFn: (text, el) => (el?.closest?.(UNMASK) ? text : stars(text)),
  maskInputFn: (text, el) => (el?.type == "password" ? "" : "*".repeat(text.length)),
  blockClass: "pl-block",
  blockSelector: "[data-pl-block],input[type=password]",
  slimDOMOptions: "all",
  sampling: { mousemove: 100, scroll: 150, media: 800, input: "last" },
  inlineImages: false,
  recordCanvas: false,
  collectFonts: false,
};


const unmaskedNode = (id) => !!record.mirror.getNode(id)?.closest?.(UNMASK);

// scrub masks the attributes of a full snapshot (type 2) or a DOM mutation (type 3, source 0).
function scrub(e) {
  if (e.type == 2) maskTree(e.data.node);
  if (e.type == 3 && e.data.source == 0) {
    e.data.adds?.forEach((x) => maskTree(x.node, unmaskedNode(x.parentId)));
    e.data.attributes?.forEach((x) => maskAttributes(x.attributes, unmaskedNode(x.id)));
  }
  return e;
}

const me = [...d.scripts].find((s) => s.dataset.site && s.src) || {};
const cfg = me.dataset || {};
const origin = me.src && new URL(cfg.api || me.src).origin;
let denied = 0; // pathlight('consent', 'denied') since the chunk loaded
let events = []; // recorded, not yet in a batch
let paused = 0; // the current view is not sampled
let stop; // ends the recording
let halted = 0; // consent is gone: nothing more is recorded on this page
let snap = 0; // the next batch holds a full snapshot to keep as the page's (for the heatmaps)
let only; // snapshot-only mode: the view is not sampled for replay
let busy = 0;
let pause = 0;
let tries = 0;

const now = () => Date.now();
const consent = () => {
  let grant;
  try {
    grant = localStorage.pl_c;
  } catch (e) {}
  return navigator.globalPrivacyControl || denied ? "denied" : grant ? GRANTED : cfg.consent == "required" ? 0 : "";
};
const ok = () => consent() === "" || consent() == GRANTED;
// sampled reads the decision pl.js last answered, on its own function (pl-hm.js keeps it as o).
const sampled = () => {
  const p = w.pathlight;
  return !!(p?.o || p)?.c?.replay;
};
const storage = (v) => {
  try {
    return v === undefined ? JSON.parse(localStorage[Q] || "[]") : v.length ? (localStorage[Q] = JSON.stringify(v)) : delete localStorage[Q];
  } catch (e) {
    return [];
  }
};



const day = () => Math.floor(now() / 864e5);
const snaps = () => {
  try {
    return JSON.parse(localStorage[SN] || "{}");
  } catch (e) {
    return { [location.pathname]: day() }; // no storage: no snapshot, rather than one per view
  }
};


const stored = () => {
  try {
    return JSON.parse(sessionStorage[S] || "null");
  } catch (e) {}
};
const keepSession = (s) => {
  try {
    sessionStorage[S] = JSON.stringify(s);
  } catch (e) {}
};

function nextChunk() {
  const s = session(stored(), now(), uuid);
  const seq = s.seq++;
  s.at = now();
  keepSession(s);
  return [s.id, seq];
}

// batch queues what was recorded as one batch.
function batch(hide) {
  if (!ok()) return halt();
  if (events.length) {
    const [session, seq] = nextChunk();
    const b = { id: uuid(), ts: now(), site: cfg.site, session, page: pageUrl(location.href), seq, events };
    events = [];
    if (snap) {
      // The page's snapshot for the heatmap view, at most once per page per day.
      b.snapshot = true;
      snap = 0;
      try {
        localStorage[SN] = JSON.stringify(snapped(snaps(), location.pathname, day()));
      } catch (e) {}
    }
    if (consent()) b.consent = consent();
    try {
      if (localStorage.pl_vid) b.vid = localStorage.pl_vid; // pl.js's copy, as with a hit
    } catch (e) {}
    storage(keep(storage(), b, now()));
  }
  flush(hide);
}

const strip = ({ id, ts, ...b }) => JSON.stringify(b);

// gzip compresses text with the browser's CompressionStream; the text itself where there is
// none (the server takes both).
const gzip = (text) =>
  w.CompressionStream ? new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).blob() : Promise.resolve(text);

// flush sends the queued batches one at a time; at page hide by beacon.
function flush(hide) {
  const q = storage();
  if (!ok()) return halt();
  const url = origin + "/v1/replay";
  if (hide) return q.forEach((b) => navigator.sendBeacon(url, strip(b)) && storage(remove(storage(), [b])));
  if (busy || pause || !q.length) return;
  busy = 1;
  const b = q[0];
  gzip(strip(b))
    .then((body) => fetch(url, { method: "POST", body: new Blob([body], { type: "text/plain" }), credentials: "include" }))
    .then(async (r) => {
      // A cap of the server (replay_session_cap, replay_daily_cap) is a 429 not worth a retry:
      // the session records nothing more.
      if (r.status == 429 && /^replay_/.test((await r.json().catch(() => 0))?.reason)) return full(b);
      if (r.status > 499 || r.status == 429) throw r;
      storage(remove(storage(), [b]));
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

// full ends the recording of a session the server has no more room for, here and on its next
// pages (the session is marked full), and drops its chunks.
function full(b) {
  const s = stored();
  if (b.session && s?.id == b.session) keepSession({ ...s, full: 1 });
  stop?.();
  halted = 1;
  events = [];
  storage(storage().filter((x) => x.session != b.session));
}

// halt ends the recording for good and drops what was not sent: consent is gone.
function halt() {
  halted = 1;
  stop?.();
  events = [];
  storage([]);
}

function emit(e) {
  if (halted) return;
  if (!ok()) return halt();
  if (only) {
    // The page's meta event, then its full snapshot: that is all, as one chunk of no session.
    events.push(scrub(e));
    if (e.type == 2) {
      halted = 1;
      setTimeout(() => stop?.());
      const b = { id: uuid(), ts: now(), site: cfg.site, page: pageUrl(location.href), snapshot: true, events };
      if (consent()) b.consent = consent();
      events = [];
      storage(keep(storage(), b, now()));
      flush();
    }
    return;
  }
  if (!sampled()) return (paused = 1);
  if (paused) {
    // A sampled view again: the events of the unsampled one were not kept, so the player
    // needs the page whole once more.
    paused = 0;
    setTimeout(() => record.takeFullSnapshot(true));
  }
  if (e.type == 2 && snaps()[location.pathname] != day()) snap = 1;
  events.push(scrub(e));
}

function start() {
  only = !sampled();
  if (!origin || !ok() || (!only && session(stored(), now(), uuid).full)) return;
  stop = record({ emit, ...options });
  const on = (t, type, f) => t.addEventListener(type, f, true);
  setInterval(() => batch(), EVERY);
  on(d, "visibilitychange", () => d.visibilityState == "hidden" && batch(1));
  on(w, "pagehide", () => batch(1));
  on(w, "online", () => flush());
  flush();
}

const api = w.pathlight;
if (api && !api.rr) {
  w.pathlight = Object.assign(
    function (cmd, a) {
      if (cmd == "consent") {
        denied = a != GRANTED;
        if (denied) halt();
      }
      return api.apply(this, arguments);
    },
    api,
    { rr: 1, o: api.o || api },
  );
  start();
}
