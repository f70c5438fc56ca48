// The session replay player and the page snapshot renderer, built on rrweb's Replayer. This
// module is split out of app.js and loaded only when a replay or a page snapshot is shown
// (the Replayer is larger than the rest of the dashboard's own code).
//
// The Replayer rebuilds the recorded page in an iframe sandboxed to allow-same-origin only:
// none of the page's scripts run, and the dashboard's Content-Security-Policy applies to it.

import { Replayer, EventType } from "rrweb";
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

/**
 * mountPlayer shows a recording in box: the page as the visitor saw it, play and pause, a
 * timeline to seek on with the journey's events as markers, the speed, and the journey
 * events listed (each jumps to its moment). rec is the replay route's answer {id, events,
 * journey, …}. It returns {replayer, seek(ms), destroy()}; box.dataset carries the player's
 * state (data-state playing|paused|ended, data-time, data-total) for tests and styles.
 */
export function mountPlayer(box, rec) {
  const events = (rec.events || []).slice().sort((a, b) => a.timestamp - b.timestamp);
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
  const track = h(
    "div",
    { class: "rr-marks" },
    ms.map((m) => {
      const b = h("button", {
        type: "button",
        class: "rr-mark " + m.type,
        "data-type": m.type,
        "data-at": m.at,
        title: `${clock(m.at)} · ${MARK_KINDS[m.type] || m.type}: ${m.name || ""}`,
        "aria-label": `Jump to ${clock(m.at)}: ${MARK_KINDS[m.type] || m.type} ${m.name || ""}`,
        onclick: () => seek(m.at),
      });
      b.style.left = (total ? (m.at / total) * 100 : 0) + "%";
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
  const play = (t) => {
    replayer.play(t);
    setState("playing");
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(tick);
  };
  const pause = (t) => {
    replayer.pause(t);
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
  const ts = Number(snapshot.timestamp) || 1;
  const meta = { type: EventType.Meta, timestamp: ts, data: { href: "", width, height } };
  const full = { ...snapshot, timestamp: ts, data: { ...snapshot.data, initialOffset: { top: 0, left: 0 } } };
  const r = new Replayer([meta, full], { root: stage, showWarning: false, mouseTail: false, triggerFocus: false });
  r.pause(0);
  r.iframe.style.width = width + "px";
  r.iframe.style.height = height + "px";
  return r.iframe;
}
