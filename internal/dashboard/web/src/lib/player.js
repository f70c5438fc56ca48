// The session replay player and the page snapshot renderer, built on rrweb's Replayer. This
// module is split out of app.js and loaded only when a replay or a page snapshot is shown
// (the Replayer is larger than the rest of the dashboard's own code).
//
// The Replayer rebuilds the recorded page in an iframe sandboxed to allow-same-origin only:
// none of the page's scripts run, and the dashboard's Content-Security-Policy applies to it.

import { Replayer, EventType, IncrementalSource } from "rrweb";
import { h, clear } from "./dom.js";
import * as f from "./format.js";

/** What each kind of journey event is called on the timeline. */
export const MARK_KINDS = {
  pageview: "Page view",
  event: "Event",
  step: "Step reached",
  prompt: "Prompt",
  rage_click: "Rage click",
};

const SPEEDS = [1, 2, 4, 8];

// clock formats a playback offset in ms as m:ss (h:mm:ss past an hour).
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/**
 * marks places the journey's events on the recording's timeline: each with its offset from
 * the recording's start in ms, clamped to the recording (the visitor's clock and the
 * server's may differ by a little). Events outside the recording by more than a minute are
 * left out.
 */
export function marks(journey, start, total) {
  const out = [];
  for (const j of journey || []) {
    const at = Number(j.ts) - start;
    if (!Number.isFinite(at) || at < -60000 || at > total + 60000) continue;
    out.push({ ...j, at: Math.min(total, Math.max(0, at)) });
  }
  return out.sort((a, b) => a.at - b.at);
}

// NEAR is how close two markers may stand on the timeline, as a share of its width, before
// they are drawn as one (which jumps to the first and names all in its title).
const NEAR = 0.008;

/** groups gathers marks (sorted by time) that would overlap on the timeline. */
export function groups(ms, total) {
  const out = [];
  for (const m of ms) {
    const last = out[out.length - 1];
    if (last && total && (m.at - last.at) / total < NEAR) last.marks.push(m);
    else out.push({ at: m.at, marks: [m] });
  }
  return out;
}

// isHandler names the attributes of inline event handlers (onclick, onsubmit …).
const isHandler = (k) => /^on/i.test(k);

function dropHandlers(n) {
  if (!n) return;
  if (n.attributes) for (const k of Object.keys(n.attributes)) if (isHandler(k)) delete n.attributes[k];
  for (const c of n.childNodes || []) dropHandlers(c);
}

/**
 * inert removes the recorded pages' inline event handlers (on… attributes) from events, in
 * place: the sandbox refuses to run them anyway, and says so in the console for each one.
 * The rebuilt page's scripts are already left out by rrweb (a script becomes a noscript).
 */
export function inert(events) {
  for (const e of events) {
    if (e.type === EventType.FullSnapshot) dropHandlers(e.data && e.data.node);
    else if (e.type === EventType.IncrementalSnapshot && e.data && e.data.source === IncrementalSource.Mutation) {
      for (const a of e.data.adds || []) dropHandlers(a.node);
      for (const a of e.data.attributes || []) for (const k of Object.keys(a.attributes || {})) if (isHandler(k)) delete a.attributes[k];
    }
  }
  return events;
}

/**
 * mountPlayer shows a recording in box: the page as the visitor saw it, play and pause, a
 * timeline to seek on with the journey's events as markers, the speed, and the journey
 * events listed (each jumps to its moment). rec is the replay route's answer {id, events,
 * journey, …}. It returns {replayer, seek(ms), destroy()}; box.dataset carries the player's
 * state (data-state playing|paused|ended, data-time, data-total) for tests and styles.
 */
export function mountPlayer(box, rec) {
  const events = inert((rec.events || []).slice().sort((a, b) => a.timestamp - b.timestamp));
  if (!events.some((e) => e.type === EventType.FullSnapshot)) throw new Error("The recording holds no full page snapshot: nothing can be shown.");
  clear(box);
  box.classList.add("rr-player");
  const stage = h("div", { class: "rr-stage" });
  const screen = h("div", { class: "rr-screen", "data-testid": "replay-screen" }, stage);
  box.append(screen);
  const replayer = new Replayer(events, { root: stage, skipInactive: true, showWarning: false, mouseTail: false, triggerFocus: false, speed: 1 });
  const meta = replayer.getMetaData();
  const total = Math.max(0, meta.totalTime);
  box.dataset.total = String(total);
  box.dataset.start = String(meta.startTime);

  // The recorded viewport, scaled down to the box's width.
  let vw = 1280, vh = 800;
  const fit = () => {
    const s = Math.min(1, (screen.clientWidth || vw) / vw);
    stage.style.width = vw + "px";
    stage.style.height = vh + "px";
    stage.style.transform = `scale(${s})`;
    screen.style.height = Math.ceil(vh * s) + "px";
    screen.dataset.scale = String(s);
    screen.dataset.width = String(vw);
    screen.dataset.height = String(vh);
  };
  replayer.on("resize", (d) => {
    vw = d.width || vw;
    vh = d.height || vh;
    fit();
  });
  const metaEvent = events.find((e) => e.type === EventType.Meta);
  if (metaEvent) {
    vw = metaEvent.data.width || vw;
    vh = metaEvent.data.height || vh;
  }
  const ro = new ResizeObserver(fit);
  ro.observe(screen);
  fit();

  const ms = marks(rec.journey, meta.startTime, total);
  const playBtn = h("button", { type: "button", class: "rr-play", "aria-label": "Play" }, "Play");
  const slider = h("input", { type: "range", class: "rr-seek", min: "0", max: String(total), step: "100", value: "0", "aria-label": "Position in the recording" });
  const now = h("span", { class: "rr-time", "aria-live": "off" }, `${clock(0)} / ${clock(total)}`);
  const speed = h(
    "select",
    { class: "rr-speed", "aria-label": "Speed", onchange: (e) => replayer.setConfig({ speed: Number(e.target.value) }) },
    SPEEDS.map((s) => h("option", { value: String(s) }, s + "×")),
  );
  const skip = h("input", { type: "checkbox", checked: true, onchange: (e) => replayer.setConfig({ skipInactive: e.target.checked }) });
  const what = (m) => `${MARK_KINDS[m.type] || m.type}: ${m.name || ""}`;
  const track = h(
    "div",
    { class: "rr-marks" },
    groups(ms, total).map((g) => {
      const first = g.marks[0];
      const b = h("button", {
        type: "button",
        class: "rr-mark " + (g.marks.every((m) => m.type === first.type) ? first.type : "many"),
        "data-type": g.marks.map((m) => m.type).join(" "),
        "data-at": g.at,
        "data-count": g.marks.length,
        title: `${clock(g.at)} · ` + g.marks.map(what).join(" · "),
        "aria-label": `Jump to ${clock(g.at)}: ` + g.marks.map(what).join(", "),
        onclick: () => seek(g.at),
      });
      b.style.left = (total ? (g.at / total) * 100 : 0) + "%";
      return b;
    }),
  );
  box.append(
    h("div", { class: "rr-timeline" }, track, slider),
    h("div", { class: "rr-controls" }, playBtn, now, h("label", { class: "field inline" }, h("span", null, "Speed"), speed), h("label", { class: "check" }, skip, " Skip inactivity")),
    ms.length
      ? h(
          "ol",
          { class: "rr-journey" },
          ms.map((m) =>
            h(
              "li",
              { class: "tl " + m.type, "data-type": m.type },
              h("button", { type: "button", class: "link", "data-at": m.at, onclick: () => seek(m.at) }, clock(m.at)),
              h("span", { class: "badge none" }, MARK_KINDS[m.type] || m.type),
              h("span", null, m.name || ""),
              m.url ? h("span", { class: "muted url" }, m.url) : null,
            ),
          ),
        )
      : h("p", { class: "empty" }, "No journey event falls inside this recording."),
  );

  let state = "paused";
  let raf = 0;
  const show = (t) => {
    const c = Math.min(total, Math.max(0, t));
    slider.value = String(c);
    slider.setAttribute("aria-valuetext", `${clock(c)} of ${clock(total)}`);
    now.textContent = `${clock(c)} / ${clock(total)}`;
    box.dataset.time = String(Math.round(c));
  };
  const setState = (s) => {
    state = s;
    box.dataset.state = s;
    playBtn.textContent = s === "playing" ? "Pause" : "Play";
    playBtn.setAttribute("aria-label", s === "playing" ? "Pause" : "Play");
  };
  const tick = () => {
    show(replayer.getCurrentTime());
    if (state === "playing") raf = requestAnimationFrame(tick);
  };
  // rrweb applies the events strictly before the offset it is given, and rebuilds the page
  // only from a full snapshot before it: a seek goes 1 ms past its moment and never before
  // the first full snapshot, so that the page shown is the page at that moment whichever
  // way the seek went.
  const full = events.find((e) => e.type === EventType.FullSnapshot);
  const fullAt = full.timestamp - meta.startTime;
  const past = (t) => Math.max(t, fullAt) + 1;
  const play = (t) => {
    replayer.play(past(t));
    setState("playing");
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(tick);
  };
  const pause = (t) => {
    if (t == null) replayer.pause();
    else replayer.pause(past(t));
    cancelAnimationFrame(raf);
    setState("paused");
    show(t == null ? replayer.getCurrentTime() : t);
  };
  /** seek moves to ms from the start, playing on if the player was playing. */
  function seek(t) {
    const c = Math.min(total, Math.max(0, Math.round(t)));
    if (state === "playing") play(c);
    else pause(c);
    show(c);
  }
  replayer.on("finish", () => {
    cancelAnimationFrame(raf);
    setState("ended");
    show(total);
  });
  playBtn.addEventListener("click", () => {
    if (state === "playing") pause();
    else play(state === "ended" ? 0 : replayer.getCurrentTime());
  });
  slider.addEventListener("input", () => seek(Number(slider.value)));
  pause(0);
  return {
    replayer,
    seek,
    destroy() {
      cancelAnimationFrame(raf);
      ro.disconnect();
      replayer.destroy();
    },
  };
}

/**
 * renderSnapshot rebuilds a page from its rrweb full snapshot inside stage, in a sandboxed
 * iframe of width × height CSS pixels scrolled to the top, with no cursor. It returns the
 * iframe.
 */
export function renderSnapshot(stage, snapshot, width, height) {
  if (!snapshot || snapshot.type !== EventType.FullSnapshot || !snapshot.data || !snapshot.data.node) throw new Error("not an rrweb full snapshot");
  // The viewport first, the page 1 ms later; rrweb applies the events before the offset.
  const ts = Number(snapshot.timestamp) || 1;
  const meta = { type: EventType.Meta, timestamp: ts, data: { href: "", width, height } };
  const full = inert([{ ...snapshot, timestamp: ts + 1, data: { ...snapshot.data, initialOffset: { top: 0, left: 0 } } }])[0];
  const r = new Replayer([meta, full], { root: stage, showWarning: false, mouseTail: false, triggerFocus: false });
  r.pause(2);
  r.iframe.style.width = width + "px";
  r.iframe.style.height = height + "px";
  return r.iframe;
}
