// Session replays in the views: the list of recorded sessions, and the player panel that
// fetches one recording and shows it. The player itself (rrweb's Replayer) is a chunk of its
// own, loaded the first time a replay or a page snapshot is shown.

import { h, clear, notice, table } from "./dom.js";
import { getJSON } from "./api.js";
import * as f from "./format.js";
import { format } from "./state.js";

let chunk = null;
// The player on screen in each panel, ended when another recording is opened there.
const players = new WeakMap();

function stopPlayer(panel) {
  const p = players.get(panel);
  if (!p) return;
  players.delete(panel);
  p.destroy();
}

/** loadPlayer loads the player chunk once; a failed load is tried again next time. */
export function loadPlayer() {
  if (!chunk) chunk = import("./player.js").catch((e) => ((chunk = null), Promise.reject(e)));
  return chunk;
}

/** offline tells a failed fetch (no answer at all) from an answer with an error status. */
export const offline = (e) => e instanceof TypeError || e.name === "TypeError";

// size formats a byte count.
function size(n) {
  if (n == null) return f.dash;
  if (n < 1024) return f.int(n) + " B";
  if (n < 1024 * 1024) return f.dec(n / 1024) + " KiB";
  return f.dec(n / 1024 / 1024) + " MiB";
}

/**
 * replayTable lists recordings: when each started, how long it lasted, its pages and size,
 * and a button that plays it (open(r)). visitorHref(r), when given, adds a column with the
 * visitor's id linked to their view.
 */
export function replayTable(list, { open, visitorHref, empty }) {
  const cols = [];
  if (visitorHref) cols.push({ label: "Visitor", get: (r) => h("a", { href: visitorHref(r), class: "mono" }, r.vid) });
  cols.push(
    { label: "Started", get: (r) => h("time", { datetime: new Date(r.started_at).toISOString() }, f.time(r.started_at)) },
    { label: "Length", id: "length", num: true, get: (r) => f.duration(Math.max(0, r.ended_at - r.started_at) / 1000), value: (r) => r.ended_at - r.started_at },
    { label: "Pages", get: (r) => h("span", { class: "url" }, (r.pages || []).join(" → ") || f.dash) },
    { label: "Size", num: true, get: (r) => size(r.bytes), value: (r) => r.bytes },
    { label: "", get: (r) => h("button", { type: "button", class: "ghost small", "data-play": r.id, onclick: () => open(r) }, "Play") },
  );
  return table(cols, list, { key: (r) => r.id, empty });
}

/**
 * showReplay fetches recording id and plays it in panel, with a clear notice when it is
 * gone (expired or erased), when the network failed (with a retry), or when it cannot be
 * shown. onStop registers the player's teardown with the view. panel.dataset.state says
 * loading, playing (the player is on screen), missing or error.
 */
export async function showReplay(panel, id, { signal, onStop }) {
  stopPlayer(panel);
  panel.dataset.replay = id;
  panel.dataset.state = "loading";
  clear(panel).append(h("p", { class: "hint" }, "Loading the recording…"));
  const fail = (kind, state, ...msg) => {
    panel.dataset.state = state;
    clear(panel).append(notice(kind, ...msg));
  };
  const retry = () => h("button", { type: "button", class: "ghost small", onclick: () => showReplay(panel, id, { signal, onStop }) }, "Try again");
  let rec, mod;
  try {
    [rec, mod] = await Promise.all([getJSON("/api/v1/replays/" + encodeURIComponent(id), { signal }), loadPlayer()]);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    if (e.status === 404) {
      if (/not enabled/.test(e.message)) return fail("warn", "missing", h("strong", null, "Session replay is not enabled on this server. "), e.message);
      return fail("warn", "missing", h("strong", null, "This recording is no longer stored. "), "Recordings are kept for a limited time (30 days unless the server says otherwise) and are removed when the visitor is erased.");
    }
    if (offline(e)) return fail("error", "error", h("strong", null, "The recording could not be loaded: "), "the server did not answer (network error). ", retry());
    return fail("error", "error", h("strong", null, "The recording could not be loaded: "), e.message, " ", retry());
  }
  if ((signal && signal.aborted) || panel.dataset.replay !== id) return; // another was opened meanwhile
  try {
    const head = h(
      "div",
      { class: "rr-head" },
      h("strong", null, "Recording of ", f.time(rec.started_at)),
      h("span", { class: "muted" }, ` · ${f.duration(Math.max(0, rec.ended_at - rec.started_at) / 1000)} · ${rec.site || ""}`),
    );
    const box = h("div", { class: "rr-box" });
    clear(panel).append(head, box);
    const p = mod.mountPlayer(box, rec);
    players.set(panel, p);
    onStop(() => players.get(panel) === p && stopPlayer(panel));
    panel.dataset.state = "playing";
    return p;
  } catch (e) {
    return fail("error", "error", h("strong", null, "This recording cannot be played: "), e.message || String(e));
  }
}

/**
 * stoppedHref links to the Replays view listing the recorded sessions of the visitors who
 * reached step and went no further, over the same period and site.
 */
export function stoppedHref(p, step) {
  const keep = Object.fromEntries(["range", "from", "to", "site"].filter((k) => p[k]).map((k) => [k, p[k]]));
  return format({ view: "replays", params: { ...keep, step, stopped: "true" } });
}
