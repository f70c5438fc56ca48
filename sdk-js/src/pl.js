// Pathlight snippet: the part that runs on every page. It sends pageviews, declarative and API
// events and engagement through a small persistent queue that survives failed sends and page
// loads; asks for the page slots' decisions in its first hit and swaps the variants in without
// flicker; and arms the triggers of the survey and chat prompts the server sends, loading the
// prompt UI (pl-ui.js) only for visitors who have one.
//
// It never throws into the host page, never blocks rendering, and hides slots for at most the
// configured timeout. README.md has the install snippet, the API and the options.

import { enqueue, remove, backoff } from "./queue.js";
import { pageUrl } from "./url.js";
import { arm } from "./triggers.js";
import { uuid, flat, body } from "./payload.js";
import { depth, meter } from "./engage.js";

const w = window;
const d = document;
const QUEUE = "pl_q"; // localStorage: events not yet acknowledged
const GRANT = "pl_c"; // localStorage: consent was granted (data-consent="required" sites)
const VID = "pl_vid"; // localStorage: the visitor id the server last answered (see send)
const GRANTED = "granted";
const DENIED = "denied";
const SLOT = "[data-pl-slot]";

if (!w.pathlight?.v) start();

function start() {
  const me = d.currentScript;
  const cfg = me.dataset;
  const src = me.src;
  const origin = new URL(cfg.api || src).origin;
  const wait = +cfg.timeout || 400;
  const mobile = matchMedia("(pointer:coarse)").matches;
  const gpc = navigator.globalPrivacyControl;
  const now = () => Date.now();
  const t0 = now(); // the first pageview is dated just before: see page()
  // storage reads key k, or writes v (removes the key when v is falsy); localStorage may throw
  // (disabled storage, sandboxed frames), which reads as nothing stored.
  const storage = (k, v) => {
    try {
      return v === undefined ? localStorage[k] : v ? (localStorage[k] = v) : delete localStorage[k];
    } catch (e) {}
  };

  // consent: GRANTED or DENIED; "" when the site does not ask for consent and has not said;
  // 0 while a data-consent="required" site waits for the visitor's answer (nothing is sent or
  // stored meanwhile). Global Privacy Control means denied, whatever the site says.
  let consent = gpc ? DENIED : cfg.consent == "required" ? (storage(GRANT) ? GRANTED : 0) : "";
  const mayStore = () => consent === "" || consent == GRANTED;
  // Without consent nothing identifying stays in the browser.
  const forget = () => storage(QUEUE, 0) + storage(VID, 0);
  if (gpc) forget();

  let mem = []; // the queue, mirrored in localStorage when storing is allowed
  let ready = 0; // the first pageview is queued: sending may start
  let busy = 0; // a request is in flight: one at a time, so the first reply sets the cookie
  let pause = 0; // a send failed: wait for the backoff timer (or the network coming back)
  let tries = 0; // failed sends in a row
  // most events in one request: halved after each failed send, so that events too many or too
  // large for one request together (over the browser's 64 KiB) go a few at a time
  let most = 50; // MAX_QUEUE
  let view = 0; // page views so far, SPA routes included
  let open = 0; // the view whose slots are hidden waiting for decisions, 0 when none
  let slots = 0; // the slots to ask decisions for, with the request that empties the queue
  let url = ""; // the reported URL of the current view
  let scroll = 0; // maximum scroll depth of the current view, and the part already reported
  let scrollSent = 0;
  let trig; // the prompt triggers of the current view
  let bye; // the visitor id a withdrawal of consent names, until its request is built
  let ticking;
  let uiLoad;
  const shown = {}; // prompts shown on this page: never twice
  const flying = {}; // ids of the events in a request that has not completed
  const engaged = meter();

  const load = () => {
    try {
      if (mayStore()) mem = JSON.parse(storage(QUEUE) || "[]");
    } catch (e) {}
    return mem;
  };
  const save = (q) => {
    mem = q;
    if (mayStore()) storage(QUEUE, q.length && JSON.stringify(q));
  };
  const ev = (type, o) => ({ id: uuid(), type, ts: now(), url: pageUrl(location.href), ...o });
  const track = (type, o, later) => {
    save(enqueue(load(), [ev(type, o)], now()));
    later || flush();
  };

  // Anti-flicker: slots without a decision stay hidden until their view's decisions arrive or
  // the timeout passes. The site's optional inline style#pl-hide goes at the first reveal (its
  // own timer is only the fallback for when pl.js never runs).
  const style = d.createElement("style");
  style.textContent = SLOT + ":not([data-pl-variant]){visibility:hidden!important}";
  const uncover = () => {
    open = 0;
    style.remove();
    d.getElementById("pl-hide")?.remove();
  };
  const cover = (v) => {
    open = v;
    d.documentElement.appendChild(style);
    setTimeout(() => open == v && uncover(), wait);
  };

  // flush sends the queue: one request at a time, or at page hide with sendBeacon, which
  // outlives the page. Events leave the queue once the server (or the browser, for a beacon)
  // has them; a failed send pauses sending until its backoff timer or the network coming back
  // (events queued meanwhile wait in storage, for this page or the next), and the server's
  // dedup by event id makes a repeat harmless.
  function flush(hide) {
    const q = load().filter((e) => !flying[e.id]);
    const events = q.slice(0, most);
    if (!ready || consent === 0 || pause || !(events.length || bye) || (!hide && busy)) return;
    // Slots are asked for with the request that empties the queue: it holds the current
    // view's pageview, or only this view's events after it (the queue is in time order).
    const s = !hide && !q[most] && slots;
    const v = view;
    // The visitor id goes in the body too: where the page and the server are on different
    // sites, browsers keep no cookie of the server's, and the page's own storage is all that
    // holds a journey together.
    // A withdrawal names the visitor once, with the cookie, so that the server cancels what
    // it holds waiting for the id (see api).
    const id = bye || (mayStore() && storage(VID));
    const b = body(cfg.site, consent, events, s, id);
    bye = 0;
    const done = () => save(remove(load(), events));
    if (s) slots = 0;
    if (hide && consent != DENIED && navigator.sendBeacon(origin + "/v1/beacon", b)) return done();
    if (!hide) busy = 1;
    events.forEach((e) => (flying[e.id] = 1));
    fetch(origin + "/v1/hit", {
      method: "POST",
      body: b,
      keepalive: true,
      credentials: consent != DENIED || id ? "include" : "omit",
      // A hung request gives up after 10 s (where the browser has AbortSignal.timeout).
      signal: AbortSignal.timeout?.(1e4),
    })
      .then((r) => {
        // Server errors and rate limits are retried, and so is a body too large for the server
        // when it held several events (in fewer); other refusals would fail again.
        if (r.status > 499 || r.status == 429 || (r.status == 413 && events[1])) throw r;
        done();
        tries = 0;
        most = 50;
        return r.json();
      })
      .then(
        (res) => {
          // A refusal's body says why: {"error", "reason"}. Otherwise keep the id the server
          // answered, or none when it keeps no id for the visitor (cookieless mode, no
          // consent); an identify may have moved the visitor to another.
          if (res.error) refused(res);
          else if (mayStore()) storage(VID, res.keep_vid && res.vid);
          reply(res, v, s);
        },
        (e) => {
          // The request failed without a reply the page may read: when the server answers
          // a plain request, it refused this page's origin (CORS); otherwise it is down.
          if (e.name == "TypeError") refused();
          pause = 1;
          most = events.length >> 1 || 1;
          setTimeout(resume, backoff(tries++));
          if (s && open == v) uncover();
        },
      )
      .finally(() => {
        events.forEach((e) => delete flying[e.id]);
        if (!hide) (busy = 0), flush();
      });
  }
  // refused reports a refusal in the console (the first of the page only), for the site's
  // developer, with the server's error body when the page may read it (none: a request failed
  // without a reply the page may read). The words are in pl-ui.js, which only such a page
  // loads; it also tells a refused origin (CORS) from a server that is down.
  const refused = (x) => ui().then((p) => p.warn(origin, x), () => 0);
  const resume = () => {
    pause = 0;
    flush();
  };

  function reply(res, v, asked) {
    const dec = res?.decisions || {};
    const map = dec.slots || {};
    if (asked && open == v) {
      d.querySelectorAll(SLOT).forEach((el) => {
        const x = map[el.dataset.plSlot];
        if (!x) return;
        // A listener may cancel the event to render the decision itself.
        const e = new CustomEvent("pathlight:decision", { bubbles: true, cancelable: true, detail: { slot: el.dataset.plSlot, ...x } });
        if (el.dispatchEvent(e) && x.content) el.innerHTML = x.content;
        el.dataset.plVariant = x.variant || "";
      });
      uncover();
    }
    const prompts = (dec.prompts || []).filter((p) => !shown[p.id]);
    if ((api.c = dec.capture)) d.head.appendChild(d.createElement("script")).src = new URL("pl-hm.js", src);
    if (v == view && prompts.length) {
      trig.add(prompts);
      ui();
      ticking = ticking || setInterval(check, 1e3, "tick");
    }
  }

  // The prompt UI loads from pl.js's own origin as soon as a prompt is armed, so that it is
  // there when an exit intent leaves no time to fetch it.
  const ui = () =>
    uiLoad ||
    (uiLoad = new Promise((ok, no) => {
      const s = d.head.appendChild(d.createElement("script"));
      s.onload = () => ok(w.pathlight);
      s.onerror = () => no((uiLoad = 0));
      s.src = new URL("pl-ui.js", src); // a URL reads as its href
    }));

  function check(kind, v) {
    const p = trig?.feed(kind, v, now());
    if (p) {
      shown[p.id] = 1;
      ui().then((pl) => pl.ui(p, (action, answer) => track("prompt", { prompt: p.id, action, answer })), () => 0);
    }
  }

  // measure updates engaged time and scroll depth (off: the page is being hidden, whatever
  // the document says yet); leave queues the engagement of the current view since it was last
  // reported, for the caller to send (by beacon at page hide).
  const measure = (take, off) => {
    scroll = Math.max(scroll, depth(w.scrollY, w.innerHeight, d.documentElement.scrollHeight));
    return engaged(!off && d.visibilityState == "visible" && d.hasFocus(), now(), take);
  };
  const leave = (off) => {
    const ms = measure(1, off);
    if (url && (ms > 0 || scroll > scrollSent)) track("engagement", { url, engaged_ms: ms, scroll }, 1), (scrollSent = scroll);
  };

  function page() {
    leave();
    // The queue is in time order, so that the server finds a landing before the pages after it
    // and decides for the current page. The first pageview is dated just before the snippet
    // started: after what earlier pages and other tabs queued, ahead of the calls this page
    // made before the snippet loaded.
    const e = ev("pageview", { ref: url || d.referrer, title: d.title, ts: view++ ? now() : t0 - 1 });
    save(enqueue(load(), [e], now()));
    url = e.url;
    scroll = scrollSent = 0;
    trig = arm(now(), mobile);
    slots = consent != DENIED && [...new Set([...d.querySelectorAll(SLOT)].map((el) => el.dataset.plSlot))];
    // The first view's slots have been hidden since the snippet started.
    if (!slots.length || consent === 0) uncover();
    else if (view > 1) cover(view);
    measure();
    flush();
  }

  function api(cmd, a, b) {
    try {
      if (cmd == "event") track("event", { name: "" + a, props: flat(b) }), check("event", "" + a);
      if (cmd == "identify" && consent != DENIED) track("identify", { user_id: "" + a, traits: flat(b) });
      if (cmd == "page" && ready) page();
      if (cmd == "consent" && !gpc) {
        // Granted: what waited in memory may now be stored and sent. Denied: nothing stays in
        // storage, and identify events are dropped; a visitor id kept from before (consent
        // was given, or the site did not ask) goes in one last request, which tells the
        // server whose consent ended.
        let q = load();
        consent = a == GRANTED ? GRANTED : DENIED;
        storage(GRANT, consent == GRANTED && "1");
        if (consent == DENIED) (q = q.filter((e) => e.type != "identify")), (bye = storage(VID)), forget(), (slots = 0);
        save(q);
        flush();
      }
    } catch (e) {}
  }

  // Declarative events: data-pl-event on a form sends on submit, on anything else on click.
  function declared(e) {
    const el = e.target.closest?.("[data-pl-event]");
    if (!el || (e.type == "submit") != (el.tagName == "FORM")) return;
    let props;
    try {
      props = JSON.parse(el.dataset.plProps); // none or invalid: no props
    } catch (x) {}
    api("event", el.dataset.plEvent, props);
  }

  const on = (t, type, f) => t.addEventListener(type, f, true);
  const input = () => check("input");
  const queued = w.pathlight?.q;
  w.pathlight = api;
  api.v = 1;
  queued?.forEach((args) => api.apply(0, args));
  if (mayStore()) cover(1);
  else uncover();

  on(d, "click", declared);
  on(d, "submit", declared);
  ["mousemove", "keydown", "pointerdown"].forEach((t) => on(w, t, input));
  on(w, "scroll", () => {
    measure();
    input();
    check("scroll", { depth: scroll, y: w.scrollY });
  });
  on(d, "mouseout", (e) => !mobile && !e.relatedTarget && e.clientY < 10 && check("exit"));
  on(w, "focus", () => measure());
  on(w, "blur", () => measure());
  on(w, "online", resume);
  // Page hide: report engagement and send what is queued before the page may be gone.
  const hidden = (e) => {
    if (e.type == "pagehide" || d.visibilityState == "hidden") leave(1), flush(1), check("hidden");
    else measure();
  };
  on(d, "visibilitychange", hidden);
  on(w, "pagehide", hidden);

  if (cfg.spa != "off") {
    // Each route counts once: a replaceState that keeps the URL is no new pageview.
    const routed = () => setTimeout(() => ready && pageUrl(location.href) != url && page());
    ["pushState", "replaceState"].forEach((m) => {
      const orig = history[m];
      // routed looks at the URL on a timer, once the state has changed.
      history[m] = function () {
        routed();
        return orig.apply(this, arguments);
      };
    });
    on(w, "popstate", routed);
  }

  const go = () => {
    ready = 1;
    page();
  };
  d.readyState == "loading" ? on(d, "DOMContentLoaded", go) : go();
}
