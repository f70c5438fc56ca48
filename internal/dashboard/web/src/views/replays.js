// Replays: the recorded sessions of the period, optionally only those of the visitors who
// reached a step, or who reached it and went no further (the funnels and the journey map
// link here for "replays of visitors who stopped here"). A recording plays in the panel
// below the list; each visitor's id leads to their journey.

import { h, card, notice, select } from "../lib/dom.js";
import { getJSON } from "../lib/api.js";
import { period, format } from "../lib/state.js";
import * as f from "../lib/format.js";
import { replayTable, showReplay } from "../lib/replays.js";

/** LIMIT is how many recordings the list asks for. */
export const LIMIT = 200;

export default async function replays(ctx) {
  const p = ctx.params;
  const { from, to } = period(p);
  const q = new URLSearchParams({ from: String(from), to: String(to), limit: String(LIMIT) });
  if (p.site) q.set("site", p.site);
  if (p.step) q.set("step", p.step);
  const stopped = p.step && p.stopped === "true";
  if (stopped) q.set("stopped", "true");
  let r, rules;
  try {
    [r, rules] = await Promise.all([getJSON("/api/v1/replays?" + q, { signal: ctx.signal }), getJSON("/api/v1/rules", { signal: ctx.signal }).catch(() => ({}))]);
  } catch (e) {
    if (e.status === 400 && !p.site && /^site:/.test(e.message)) {
      ctx.main.append(notice("info", "This server serves several sites: choose one in the Site field to list its recordings."));
      return;
    }
    if (e.status === 404) {
      ctx.main.append(notice("warn", "No recording can be listed: " + e.message));
      return;
    }
    throw e;
  }
  const steps = (rules.steps || []).map((s) => s.id);
  if (p.step && !steps.includes(p.step)) steps.push(p.step);
  const stepPick = select("Visitors", [["", "Every recorded visitor"], ...steps.map((s) => [s, "Reached " + f.label(s)])], p.step || "", (v) => ctx.set({ step: v, replay: "" }), { id: "rp-step" });
  const stoppedBox = h("input", { type: "checkbox", id: "rp-stopped", checked: !!stopped, disabled: !p.step, onchange: (e) => ctx.set({ stopped: e.target.checked ? "true" : "", replay: "" }) });
  const list = r.replays || [];
  const what = !p.step ? "Recorded sessions" : stopped ? `Visitors who stopped at ${f.label(p.step)}` : `Visitors who reached ${f.label(p.step)}`;
  const keep = Object.fromEntries(["range", "from", "to", "site"].filter((k) => p[k]).map((k) => [k, p[k]]));
  const panel = h("div", { class: "rr-panel", id: "replay-panel", "aria-live": "polite" });
  const open = (id) => {
    ctx.replace({ replay: id });
    return showReplay(panel, id, { signal: ctx.signal, onStop: ctx.onStop }).catch((e) => {
      if (e.name !== "AbortError") throw e;
    });
  };
  ctx.main.append(
    h("div", { class: "view-head" }, h("div", { class: "controls" }, stepPick, h("label", { class: "check" }, stoppedBox, " and went no further")), h("p", { class: "lede", id: "rp-count", "data-count": list.length }, `${f.int(list.length)} recordings` + (list.length >= LIMIT ? ` (the newest ${LIMIT})` : ""))),
    card(
      what,
      replayTable(list, {
        open: (x) => {
          open(x.id);
          panel.scrollIntoView({ block: "nearest" });
        },
        visitorHref: (x) => format({ view: "visitor", params: { ...keep, vid: x.vid, replay: x.id } }),
        empty: p.step ? "No recorded session of these visitors in this period." : "No recorded session in this period. Sessions are recorded for the visitors a capture rule with replay: true samples, after consent.",
      }),
      panel,
    ),
  );
  if (!list.length && !p.step) ctx.main.append(notice("info", "Recordings are kept for a limited time (30 days unless the server says otherwise): older periods have none."));
  if (p.replay) await open(p.replay);
}
