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
  const [defs, st, keys, sites] = await Promise.all([
    getJSON("/api/v1/automations", { signal: ctx.signal }),
    getJSON("/api/v1/automations/stats?" + q, { signal: ctx.signal }),
    getJSON("/api/v1/keys", { signal: ctx.signal }),
    getJSON("/api/v1/sites", { signal: ctx.signal }),
  ]);
  const autos = defs.automations || [];
  if (!autos.length) {
    ctx.main.append(notice("info", "The rules define no automation. See the automations section of the rules guide."), keysCard(ctx, keys.keys || [], sites.sites || []));
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
    keysCard(ctx, keys.keys || [], sites.sites || []),
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

// keysCard lists the site API keys of the events API, makes one (showing its secret this
// once) and revokes one.
function keysCard(ctx, keys, sites) {
  const site = h("select", { id: "key-site", "aria-label": "Site of the key" }, sites.filter((s) => s.id).map((s) => h("option", { value: s.id }, s.id)));
  const name = h("input", { type: "text", id: "key-name", placeholder: "What sends with it (crm, orders…)", "aria-label": "Name of the key", maxlength: "100" });
  const out = h("div", { id: "key-created", "aria-live": "polite" });
  const form = h(
    "form",
    {
      class: "lookup",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await (await request("/api/v1/keys", { method: "POST", body: { site: site.value, name: name.value.trim() } })).json();
          out.replaceChildren(notice("info", h("strong", null, `Key ${r.id} for ${r.site}: copy it now, it is not shown again. `), h("code", { "data-secret": "" }, r.key)));
          list.replaceChildren(keyTable(ctx, [...keys, r]));
        } catch (err) {
          out.replaceChildren(notice("error", "The key could not be created: " + err.message));
        }
      },
    },
    site,
    name,
    h("button", { type: "submit" }, "Create key"),
  );
  const list = h("div", null, keyTable(ctx, keys));
  return card(
    "API keys for back ends",
    h("p", { class: "hint" }, "A key sends events for its site to ", h("code", null, "POST /api/v1/events"), " and does nothing else; only its hash is stored."),
    list,
    form,
    out,
  );
}

function keyTable(ctx, keys) {
  return table(
    [
      { label: "Key", get: (k) => h("code", null, k.id) },
      { label: "Site", get: (k) => k.site },
      { label: "Name", get: (k) => k.name || f.dash },
      { label: "Created", get: (k) => f.time(k.created_at) },
      {
        label: "",
        get: (k) =>
          h(
            "button",
            {
              type: "button",
              class: "ghost",
              "data-revoke": k.id,
              onclick: async () => {
                await request("/api/v1/keys/" + encodeURIComponent(k.id), { method: "DELETE" });
                if (ctx.live()) ctx.reload();
              },
            },
            "Revoke",
          ),
      },
    ],
    keys,
    { key: (k) => k.id, empty: "No key yet." },
  );
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
