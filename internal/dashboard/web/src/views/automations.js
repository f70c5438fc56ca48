// Automations: what fired per day over the period, each destination's outbox now (pending,
// retrying, dead, the oldest's age, delivered since the server started), the newest
// failures with their errors, and replay of one delivery or of every dead one of a
// destination.

import { h, card, table, notice } from "../lib/dom.js";
import { axis } from "../lib/charts.js";
import { getJSON, request } from "../lib/api.js";
import { period, isoDay } from "../lib/state.js";
import * as f from "../lib/format.js";

const DAY = 86400000;

export default async function automations(ctx) {
  const p = period(ctx.params);
  const q = new URLSearchParams({ from: String(p.from), to: String(p.to) });
  const [defs, st] = await Promise.all([
    getJSON("/api/v1/automations", { signal: ctx.signal }),
    getJSON("/api/v1/automations/stats?" + q, { signal: ctx.signal }),
  ]);
  const autos = defs.automations || [];
  if (!autos.length) {
    ctx.main.append(notice("info", "The rules define no automation. See the automations section of the rules guide."));
    return;
  }
  const days = [];
  for (let t = p.from; t < p.to; t += DAY) days.push(isoDay(t));
  const fired = st.fired || {};
  const firedOf = (id) => days.reduce((n, d) => n + ((fired[d] || {})[id] || 0), 0);
  const dests = st.destinations || [];
  const sum = (k) => dests.reduce((n, d) => n + (d[k] || 0), 0);
  const total = autos.reduce((n, a) => n + firedOf(a.id), 0);
  const result = h("span", { class: "muted", "aria-live": "polite", id: "replay-result" });
  const replay = async (path, label) => {
    result.textContent = label + "…";
    try {
      const r = await (await request(path, { method: "POST" })).json();
      result.textContent = `${label}: ${f.int(r.replayed)} back in the outbox.`;
    } catch (e) {
      result.textContent = `${label} failed: ${e.message}`;
    }
    setTimeout(() => ctx.live() && ctx.reload(), 800);
  };
  const byDay = h("div", { class: "chart", id: "chart-fired" });
  ctx.main.append(
    h(
      "div",
      { class: "kpis" },
      [
        ["fired", "Fired in the period", total],
        ["pending", "Pending now", sum("pending")],
        ["retrying", "Retrying now", sum("retrying")],
        ["dead", "Dead", sum("dead")],
        ["delivered", "Delivered since start", sum("delivered_since_start")],
      ].map(([k, l, v]) => h("div", { class: "kpi", "data-kpi": k, "data-value": v }, h("span", { class: "label" }, l), h("span", { class: "value" }, f.int(v)))),
    ),
    ...(st.truncated ? [notice("warn", "The period holds more firings than one view reads: the counts are a lower bound.")] : []),
    card("Fired per day", total ? byDay : notice("info", "Nothing fired in this period.")),
    h(
      "div",
      { class: "grid2" },
      card(
        "Automations",
        table(
          [
            { label: "Automation", get: (a) => h("code", null, a.id) },
            { label: "Trigger", get: (a) => trigger(a) },
            { label: "To", get: (a) => (a.to || []).join(", ") },
            { label: "Sites", get: (a) => (a.sites || []).join(", ") || "every site" },
            { id: "fired", label: "Fired", num: true, get: (a) => f.int(firedOf(a.id)), value: (a) => firedOf(a.id) },
          ],
          autos,
          { key: (a) => a.id },
        ),
      ),
      card(
        "Destinations",
        table(
          [
            { label: "Destination", get: (d) => h("code", null, d.destination) },
            { id: "pending", label: "Pending", num: true, get: (d) => f.int(d.pending), value: (d) => d.pending },
            { id: "retrying", label: "Retrying", num: true, get: (d) => f.int(d.retrying), value: (d) => d.retrying },
            { id: "dead", label: "Dead", num: true, get: (d) => f.int(d.dead), value: (d) => d.dead },
            { id: "oldest", label: "Oldest waiting", num: true, get: (d) => (d.pending ? f.duration(d.oldest_age_ms / 1000) : f.dash), value: (d) => d.oldest_age_ms },
            { id: "delivered", label: "Delivered", num: true, get: (d) => f.int(d.delivered_since_start), value: (d) => d.delivered_since_start },
            {
              label: "",
              get: (d) =>
                d.dead
                  ? h("button", { type: "button", class: "ghost", "data-replay-dead": d.destination, onclick: () => replay(`/api/v1/destinations/${encodeURIComponent(d.destination)}/replay`, `Replay of every dead delivery to ${d.destination}`) }, "Replay dead")
                  : null,
            },
          ],
          dests,
          { key: (d) => d.destination, empty: "The rules declare no destination." },
        ),
        h("p", null, result),
      ),
    ),
    card(
      "Last errors",
      table(
        [
          { label: "When", get: (e) => f.time(e.at) },
          { label: "Destination", get: (e) => h("code", null, e.destination) },
          { label: "Automation", get: (e) => h("code", null, e.automation) },
          { label: "Visitor", get: (e) => h("a", { href: `#/visitor?vid=${encodeURIComponent(e.vid)}` }, h("code", null, e.vid.slice(0, 12) + "…")) },
          { label: "State", get: (e) => (e.state === "dead" ? "dead" : `retry ${f.time(e.next)}`) },
          { id: "attempts", label: "Attempts", num: true, get: (e) => f.int(e.attempts), value: (e) => e.attempts },
          { id: "error", label: "Error", get: (e) => h("span", { class: "mono" }, e.last_error) },
          {
            label: "",
            get: (e) =>
              h("button", { type: "button", class: "ghost", "data-replay": e.id, onclick: () => replay(`/api/v1/deliveries/${encodeURIComponent(e.destination)}/${encodeURIComponent(e.id)}/replay`, `Replay of ${e.id}`) }, e.state === "dead" ? "Replay" : "Retry now"),
          },
        ],
        st.errors || [],
        { key: (e) => e.id, empty: "No failed delivery is waiting." },
      ),
    ),
  );
  if (total) {
    ctx.charts.draw(byDay, (t) => ({
      grid: { left: 48, right: 24, top: 36, bottom: 28 },
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      xAxis: axis(t, { type: "category", data: days.map((d) => f.day(d)) }),
      yAxis: axis(t, { type: "value", minInterval: 1 }),
      series: autos.map((a) => ({ name: a.id, type: "bar", stack: "fired", barMaxWidth: 18, data: days.map((d) => (fired[d] || {})[a.id] || 0) })),
    }));
  }
}

// trigger writes an automation's trigger as the rules do.
function trigger(a) {
  const wait = (ms) => f.duration(ms / 1000);
  switch (a.on) {
    case "after":
      return `after ${a.target} + ${wait(a.wait_ms)}` + (a.unless ? ` unless ${a.unless}` : "");
    case "inactive":
      return `inactive ${wait(a.wait_ms)}`;
  }
  return `${a.on} ${a.target || "any"}`;
}
