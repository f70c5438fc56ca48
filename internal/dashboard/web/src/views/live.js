// Live: hits per second over the last minute as they arrive and the most recent events,
// refreshed every two seconds in place. Imports (backdated history) are counted apart and
// never shown as happening now.

import { h, card, table, clear, notice } from "../lib/dom.js";
import { axis, tip } from "../lib/charts.js";
import { getJSON } from "../lib/api.js";
import * as f from "../lib/format.js";

const EVERY = 2000;

export default async function live(ctx) {
  const chart = h("div", { class: "chart", id: "chart-live" });
  const rate = h("span", { class: "value", id: "live-rate" }, f.dash);
  const total = h("span", { class: "value", id: "live-total" }, f.dash);
  const imported = h("span", { class: "value", id: "live-imported" }, f.dash);
  const updated = h("span", { class: "muted", id: "live-updated", "aria-live": "off" });
  const recent = h("div", { id: "live-recent" });
  const status = h("div", { role: "status" });
  ctx.main.append(
    h("div", { class: "kpis small" }, h("div", { class: "kpi" }, h("span", { class: "label" }, "Hits per second (last 10 s)"), rate), h("div", { class: "kpi" }, h("span", { class: "label" }, "Hits in the last minute"), total), h("div", { class: "kpi", title: "Events of imports (such as pathlight simulate) that arrived in the last minute: history, not visits happening now, so they are counted here and nowhere else on this page." }, h("span", { class: "label" }, "Imported in the last minute"), imported), h("div", { class: "kpi" }, h("span", { class: "label" }, "Updated"), updated)),
    status,
    card("Hits per second, last minute", chart),
    card("Recent events", h("p", { class: "hint" }, "The date range does not apply here: this is what is happening now." + (ctx.params.site ? ` Only site ${ctx.params.site}.` : "")), recent),
  );
  let timer = 0, polls = 0;
  const tick = async () => {
    timer = 0;
    if (!ctx.live()) return;
    if (document.hidden) {
      timer = setTimeout(tick, EVERY);
      return;
    }
    try {
      const d = await getJSON("/api/v1/live", { signal: ctx.signal });
      if (!ctx.live()) return;
      draw(ctx, d, { chart, rate, total, imported, recent });
      updated.textContent = f.clock(Date.now());
      clear(status);
      ctx.main.dataset.polls = String(++polls);
    } catch (e) {
      if (e.name === "AbortError") return;
      clear(status).append(notice("warn", "Live data could not be loaded: " + e.message + ". Retrying."));
    }
    if (ctx.live()) timer = setTimeout(tick, EVERY);
  };
  ctx.onStop(() => timer && clearTimeout(timer));
  await tick();
}

function draw(ctx, d, el) {
  const hps = d.hits_per_second || [];
  const last10 = hps.slice(-10).reduce((s, x) => s + x.n, 0) / Math.max(1, Math.min(10, hps.length));
  el.rate.textContent = f.dec(last10);
  el.total.textContent = f.int(hps.reduce((s, x) => s + x.n, 0));
  el.imported.textContent = f.int((d.imported_per_second || []).reduce((s, x) => s + x.n, 0));
  ctx.charts.draw(el.chart, (t) => ({
    grid: { left: 40, right: 16, top: 24, bottom: 28 },
    legend: false,
    tooltip: { trigger: "axis", formatter: (ps) => tip(f.clock(hps[ps[0].dataIndex].t), [["Hits", f.int(ps[0].value)]]) },
    xAxis: axis(t, { type: "category", data: hps.map((x) => f.clock(x.t)), boundaryGap: false }),
    yAxis: axis(t, { type: "value", minInterval: 1 }),
    series: [{ name: "Hits", type: "line", areaStyle: { opacity: 0.2 }, showSymbol: false, data: hps.map((x) => x.n), animation: false }],
  }));
  const site = ctx.params.site;
  const events = (d.recent || []).filter((e) => !site || e.site === site);
  clear(el.recent).append(
    table(
      [
        { label: "Arrived", get: (e) => h("span", { title: e.received !== e.ts ? "Event time " + f.time(e.ts) : null }, f.clock(e.received ?? e.ts)) },
        { label: "Type", get: (e) => e.type + (e.name ? ": " + e.name : e.prompt ? `: ${e.prompt} ${e.action || ""}` : "") },
        { label: "Site", get: (e) => e.site },
        { label: "Page", cls: "url", get: (e) => h("span", { title: e.url || null }, (e.title ? e.title + " · " : "") + (e.path || e.url || "")) },
        { label: "Channel", get: (e) => (e.source && e.source.channel) || f.dash },
        { label: "Device", get: (e) => (e.device && e.device.type) || f.dash },
        { label: "Country", get: (e) => (e.geo && e.geo.country) || f.dash },
        { label: "Visitor", get: (e) => (e.vid ? h("a", { href: "#/visitor?vid=" + encodeURIComponent(e.vid), class: "mono" }, e.vid.slice(0, 10)) : f.dash) },
      ],
      events.slice().reverse(), // newest arrival first
      { empty: "No event in the last minutes." },
    ),
  );
}
