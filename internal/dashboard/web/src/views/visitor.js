// Visitor: one visitor's journey as a dated timeline (sessions with their channel, pageviews,
// events, steps, conversions, prompts shown and answered, experiment exposures), their
// recorded sessions with the replay player, and the explain trace: why each slot and prompt
// was decided as it was.

import { h, card, table, notice } from "../lib/dom.js";
import { getJSON, request } from "../lib/api.js";
import * as f from "../lib/format.js";
import { replayTable, showReplay, offline } from "../lib/replays.js";

export default async function visitor(ctx) {
  const vid = (ctx.params.vid || "").trim();
  const input = h("input", { type: "search", id: "vid", name: "vid", value: vid, placeholder: "Visitor id (the pl_vid cookie)", "aria-label": "Visitor id", autocomplete: "off", spellcheck: "false", class: "mono" });
  const form = h("form", { class: "lookup", role: "search", onsubmit: (e) => (e.preventDefault(), ctx.set({ vid: input.value.trim() })) }, input, h("button", { type: "submit" }, "Look up"));
  ctx.main.append(form);
  if (!vid) {
    ctx.main.append(notice("info", "Enter a visitor id to see their journey and why the rules decided what they showed. Visitor ids appear in the Live view and next to open survey answers."));
    return;
  }
  const path = "/api/v1/visitors/" + encodeURIComponent(vid);
  let v, ex, evs, autos, reps;
  try {
    [v, ex, evs, autos, reps] = await Promise.all([
      getJSON(path, { signal: ctx.signal }),
      getJSON(path + "/explain", { signal: ctx.signal }),
      events(vid, ctx.signal),
      getJSON(path + "/automations", { signal: ctx.signal }).catch((e) => (e.name === "AbortError" ? Promise.reject(e) : null)),
      // The recordings are shown apart: the journey shows without them.
      getJSON(path + "/replays", { signal: ctx.signal }).catch((e) => (e.name === "AbortError" ? Promise.reject(e) : { error: e })),
    ]);
  } catch (e) {
    if (e.status === 404) {
      ctx.main.append(notice("warn", "No visitor with this id is stored (never seen, erased, or past the retention)."));
      return;
    }
    throw e;
  }
  const rec = recordings(ctx, reps);
  ctx.main.append(summary(v), rec.card, h("div", { class: "grid2 wide-left" }, card("Journey", timeline(v, evs, (reps && reps.replays) || [], rec.play)), counts(v)), explain(ex), ...fired(autos));
  await rec.start();
}

// recordings lists the visitor's recorded sessions, newest first, with a panel that plays
// the one chosen; the view's "replay" setting names it, so a link can open it.
function recordings(ctx, reps) {
  const panel = h("div", { class: "rr-panel", id: "replay-panel", "aria-live": "polite" });
  const open = (id) => {
    ctx.replace({ replay: id });
    for (const b of list.querySelectorAll("[data-play]")) b.setAttribute("aria-pressed", String(b.dataset.play === id));
    return showReplay(panel, id, { signal: ctx.signal, onStop: ctx.onStop }).catch((e) => {
      if (e.name !== "AbortError") throw e;
    });
  };
  let list;
  if (reps.error) {
    const e = reps.error;
    // 404: this server records no session (replay is off); say so without alarm.
    if (e.status === 404) list = notice("info", "No recorded session can be shown: " + e.message);
    else list = notice(offline(e) ? "warn" : "error", "The recorded sessions could not be loaded: " + (offline(e) ? "the server did not answer (network error)." : e.message));
  } else {
    list = replayTable(reps.replays || [], {
      open: (r) => {
        open(r.id);
        panel.scrollIntoView({ block: "nearest" });
      },
      empty: "No recorded session. Sessions are recorded for the visitors a capture rule with replay: true samples, after consent.",
    });
  }
  const c = card("Recorded sessions", list, panel);
  c.id = "replays";
  // A recording named by a link opens even when the list could not be read: it says itself
  // when it is gone.
  const play = (id) => {
    open(id);
    c.scrollIntoView({ block: "start" });
  };
  return { card: c, play, start: () => (ctx.params.replay ? open(ctx.params.replay) : null) };
}

// fired lists the visitor's automations: how often each fired and when last, a timer still
// waiting, and what would stop it now.
function fired(a) {
  const list = (a && a.automations) || [];
  if (!list.length) return [];
  return [card(
    "Automations",
    table(
      [
        { label: "Automation", get: (x) => h("code", null, x.id) },
        { label: "Trigger", get: (x) => x.trigger },
        { id: "fired", label: "Fired", num: true, get: (x) => f.int(x.fired), value: (x) => x.fired },
        { label: "Last fired", get: (x) => (x.last_fired ? f.time(x.last_fired) : f.dash) },
        { label: "Waiting until", get: (x) => (x.due ? f.time(x.due) : f.dash) },
        { label: "Now", get: (x) => (x.ready ? "would fire" : x.failed ? `${x.blocked_by}: ${x.failed.field} ${x.failed.op} ${x.failed.want} (has ${x.failed.got})` : x.blocked_by) },
      ],
      list,
      { key: (x) => x.id },
    ),
  )];
}

function summary(v) {
  const d = v.device || {};
  const g = v.geo || {};
  return h(
    "div",
    { class: "kpis small", "data-vid": v.vid },
    [
      ["Visitor", h("code", null, v.vid)],
      ["User id", v.user_id || f.dash],
      ["First seen", f.time(v.first_seen)],
      ["Last seen", f.time(v.last_seen)],
      ["Device", [d.type, d.os, d.browser].filter(Boolean).join(" · ") + (d.bot ? " (bot)" : "")],
      ["Location", [g.city, g.region, g.country].filter(Boolean).join(", ") || f.dash],
      ["Stage", v.stage || f.dash],
      ["Segments", (v.segments || []).join(", ") || "none"],
      ["Conversions", `${f.int(v.conversions)} worth ${f.money(v.value)}`],
    ].map(([l, val]) => h("div", { class: "kpi" }, h("span", { class: "label" }, l), h("span", { class: "value small" }, val))),
  );
}

// MAX_EVENTS bounds the events drawn in the timeline: the newest are kept.
const MAX_EVENTS = 1000;

// events reads the visitor's own event log, oldest first, over the whole retention; a bot
// looked up by id shows its events too.
async function events(vid, signal) {
  const r = await request("/api/v1/events?vid=" + encodeURIComponent(vid) + "&from=0&bots=1", { signal });
  return (await r.text())
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null; // a torn line is left out, not fatal to the view
      }
    })
    .filter(Boolean);
}

// eventItem turns one exported event into a timeline entry; null leaves it out.
function eventItem(e) {
  const p = e.props || {};
  switch (e.type) {
    case "pageview":
      return { kind: "pageview", text: "Viewed " + (e.path || e.url || "a page") + (e.title ? ` “${e.title}”` : "") };
    case "event":
      if (e.name === "$exposure") return { kind: "experiment", text: `Exposed to experiment ${p.experiment}: arm ${p.variant}`, exposure: String(p.experiment) };
      if (e.name === "$holdout_prompt") return { kind: "prompt", text: `Held out: prompt ${p.prompt} would have been offered` };
      return { kind: "event", text: "Event " + e.name + (p.value != null ? ` (value ${p.value})` : "") };
    case "prompt":
      return { kind: "prompt", text: `Prompt ${e.prompt} ${e.action || ""}` + (e.answer ? `: “${e.answer}”` : ""), prompt: e.prompt };
    case "identify":
      return { kind: "identify", text: "Identified as " + (e.user_id || "a known user") };
    default:
      return null; // engagement pings: summed into the session's engaged time
  }
}

// timeline merges the journey's dated records and the visitor's events, grouped by session;
// a session during which a recording started gets a button that plays it (play(id)).
function timeline(v, evs = [], recs = [], play = null) {
  const ms = (t) => (t ? (typeof t === "number" ? t : Date.parse(t)) : 0);
  const sessions = (v.sessions || []).map((s, i) => ({ ...s, i, at: ms(s.started_at), items: [] }));
  const items = [];
  const exposed = new Set();
  const prompted = new Set();
  for (const e of evs.slice(-MAX_EVENTS)) {
    const it = eventItem(e);
    if (!it) continue;
    if (it.exposure) exposed.add(it.exposure);
    if (it.prompt) prompted.add(it.prompt);
    items.push({ ...it, at: ms(e.ts) });
  }
  for (const s of v.step_history || []) items.push({ at: ms(s.at), kind: "step", text: "Reached " + s.step });
  for (const c of v.conversion_list || []) items.push({ at: ms(c.at), kind: "conversion", text: `Converted: ${c.step}` + (c.value ? ` (${f.money(c.value)})` : "") });
  for (const [id, a] of Object.entries(v.experiments || {})) if (!exposed.has(id)) items.push({ at: ms(a.at), kind: "experiment", text: `Experiment ${id}: arm ${a.variant}` + (a.exposed ? ", exposed" : ", assigned") });
  for (const [id, p] of Object.entries(v.prompts || {})) if (!prompted.has(id)) items.push({ at: ms(p.last_shown), kind: "prompt", text: `Prompt ${id}: shown ${p.shown}×, answered ${p.answered}×, dismissed ${p.dismissed}×` + (p.last_shown ? " (last shown)" : "") });
  items.sort((a, b) => a.at - b.at);
  const loose = [];
  for (const it of items) {
    let s = null;
    for (const x of sessions) if (x.at && x.at <= it.at) s = x;
    (s ? s.items : loose).push(it);
  }
  const li = (it) => h("li", { class: "tl " + it.kind, "data-kind": it.kind }, h("time", { datetime: it.at ? new Date(it.at).toISOString() : null }, f.time(it.at)), h("span", null, it.text));
  return h(
    "ol",
    { class: "timeline", "data-events": evs.length },
    evs.length > MAX_EVENTS ? h("li", { class: "hint" }, `The ${f.int(MAX_EVENTS)} newest of ${f.int(evs.length)} events are shown.`) : null,
    loose.length ? h("li", { class: "session" }, h("div", { class: "shead" }, "Before the first recorded session"), h("ol", null, loose.map(li))) : null,
    sessions.map((s) =>
      h(
        "li",
        { class: "session", "data-session": s.i + 1 },
        h(
          "div",
          { class: "shead" },
          h("strong", null, `Session ${s.i + 1}`),
          h("span", { class: "badge none" }, s.channel || "Unassigned"),
          h("time", null, f.time(s.started_at)),
          play
            ? recs
                .filter((r) => r.started_at >= s.at && !sessions.some((x) => x.at > s.at && x.at <= r.started_at))
                .map((r) => h("button", { type: "button", class: "ghost small", "data-replay-session": r.id, onclick: () => play(r.id) }, "Replay"))
            : null,
        ),
        h(
          "p",
          { class: "muted" },
          [s.source && `source ${s.source}`, s.medium && `medium ${s.medium}`, s.campaign && `campaign ${s.campaign}`, `${f.int(s.pageviews)} pages`, s.engaged_ms ? `${f.duration(s.engaged_ms / 1000)} engaged` : null].filter(Boolean).join(" · "),
        ),
        s.landing_page ? h("p", { class: "muted url" }, "Landed on ", h("span", null, s.landing_page)) : null,
        h("ol", null, s.items.map(li)),
      ),
    ),
  );
}

function counts(v) {
  const rows = (o) => Object.entries(o || {}).map(([k, n]) => ({ k, n })).sort((a, b) => b.n - a.n);
  return card(
    "Events and pages",
    h(
      "div",
      { class: "stack" },
      table([{ label: "Event", get: (r) => r.k }, { label: "Times", num: true, get: (r) => f.int(r.n) }], rows(v.events), { empty: "No custom event." }),
      table([{ label: "Page", get: (r) => r.k, cls: "url" }, { label: "Views", num: true, get: (r) => f.int(r.n) }], rows(v.paths), { empty: "No page view." }),
    ),
  );
}

const clause = (c) => (c ? `${c.field} ${c.op} ${c.want}; had ${c.got === "" ? "nothing" : c.got}` : "");
const yes = (b) => h("span", { class: "badge " + (b ? "ok" : "none") }, b ? "yes" : "no");

function explain(ex) {
  return card(
    "Why the rules decided this",
    h("p", { class: "hint" }, `Rules ${ex.version}, evaluated as on the visitor's last page at ${f.time(ex.now)}.` + (ex.holdout ? " The visitor is in the holdout: defaults only, no prompts." : "") + (ex.bot ? " Bots get defaults only." : "")),
    h("h3", null, "Segments"),
    table(
      [{ label: "Segment", get: (r) => h("code", null, r.id) }, { label: "In it", get: (r) => yes(r.matched) }, { label: "Why not", get: (r) => r.reason || clause(r.failed) }],
      ex.segments || [],
      { key: (r) => r.id, empty: "The rules define no segment." },
    ),
    h("h3", null, "Slots"),
    (ex.slots || []).length
      ? h(
          "div",
          { class: "explain" },
          ex.slots.map((s) =>
            h(
              "details",
              { class: "slot", "data-slot": s.slot, open: true },
              h("summary", null, h("code", null, s.slot), " → ", h("strong", null, s.decision.variant || "default"), s.decision.experiment ? ` (experiment ${s.decision.experiment})` : ""),
              (s.experiments || []).length
                ? table(
                    [
                      { label: "Experiment", get: (x) => h("code", null, x.id) },
                      { label: "Applies", get: (x) => yes(x.applies) },
                      { label: "Arm", get: (x) => (x.variant || f.dash) + (x.sticky ? " (kept)" : "") },
                      { label: "Bucket", num: true, get: (x) => (x.bucket < 0 ? f.dash : x.bucket.toFixed(3)) },
                      { label: "Why not", get: (x) => x.reason || clause(x.failed) },
                    ],
                    s.experiments,
                  )
                : null,
              (s.variants || []).length
                ? table(
                    [
                      { label: "Variant", get: (r) => h("code", null, r.id) },
                      { label: "Matched", get: (r) => yes(r.matched) },
                      { label: "Why not", get: (r) => r.reason || clause(r.failed) || (r.segment && !r.matched ? "not in segment " + r.segment : "") },
                    ],
                    s.variants,
                  )
                : null,
              h("p", { class: "muted" }, "Otherwise the default: ", s.default || "the page's own content"),
            ),
          ),
        )
      : h("p", { class: "empty" }, "The rules define no slot."),
    h("h3", null, "Prompts"),
    table(
      [
        { label: "Prompt", get: (p) => h("code", null, p.id) },
        { label: "Kind", get: (p) => p.kind },
        { label: "Offered", get: (p) => yes(p.offered) },
        { label: "Why not", get: (p) => [p.blocked_by, clause(p.failed)].filter(Boolean).join(": ") },
      ],
      ex.prompts || [],
      { key: (p) => p.id, empty: "The rules define no prompt." },
    ),
    ex.caps ? h("p", { class: "muted" }, `Prompts this session: ${ex.caps.shown_this_session}` + (ex.caps.per_session ? ` of ${ex.caps.per_session}` : "") + (ex.caps.cooldown ? `; cooldown ${ex.caps.cooldown}` : "") + (ex.caps.blocked_by ? `; blocked by ${ex.caps.blocked_by}` : "")) : null,
  );
}
