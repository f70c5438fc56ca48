// Attribution: the credit of each channel under every model side by side, as a chart and a
// table, with CAC and ROAS where spend is known; the lookback window is a control.

import { h, card, table, notice, select } from "../lib/dom.js";
import { axis, tip } from "../lib/charts.js";
import { report } from "../lib/api.js";
import * as f from "../lib/format.js";

/** The models, in the order of the table, with their labels. */
export const MODELS = [
  ["first_touch", "First touch"],
  ["last_touch", "Last touch"],
  ["last_non_direct", "Last non-direct"],
  ["linear", "Linear"],
  ["position_based", "Position-based"],
  ["time_decay", "Time decay"],
  ["markov", "Markov"],
  ["shapley", "Shapley"],
];
const LOOKBACKS = [["7d", "7 days"], ["14d", "14 days"], ["30d", "30 days"], ["60d", "60 days"], ["90d", "90 days"]];

export default async function attribution(ctx) {
  const p = ctx.params;
  const lookback = LOOKBACKS.some(([v]) => v === p.lookback) ? p.lookback : "30d";
  const metric = p.metric === "value" ? "value" : "conversions";
  const cacModel = MODELS.some(([m]) => m === p.cac) ? p.cac : "last_non_direct";
  const [r, cac] = await Promise.all([
    report("attribution", p, { model: "all", lookback }, { signal: ctx.signal }),
    report("cac", p, { model: cacModel, lookback }, { signal: ctx.signal }).catch((e) => (e.name === "AbortError" ? Promise.reject(e) : { error: e })),
  ]);
  const models = r.data.models || {};
  const present = MODELS.filter(([m]) => models[m]);
  const credit = (m, ch) => {
    const c = (models[m].channels || []).find((x) => x.channel === ch);
    return c ? c[metric] : 0;
  };
  const totals = new Map();
  for (const [m] of present) for (const c of models[m].channels || []) totals.set(c.channel, (totals.get(c.channel) || 0) + c[metric]);
  const channels = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a) || a.localeCompare(b));
  const cacRows = new Map(((cac.data && cac.data.channels) || []).map((c) => [c.channel, c]));
  const currency = cac.data && cac.data.currency;
  const hasSpend = cac.data && cac.data.spend > 0;
  const fmt = metric === "value" ? (v) => f.money(v, currency) : f.dec;
  const first = present.length ? models[present[0][0]] : null;

  const chart = h("div", { class: "chart tall", id: "chart-attribution" });
  ctx.main.append(
    h(
      "div",
      { class: "view-head" },
      h(
        "div",
        { class: "controls" },
        select("Lookback", LOOKBACKS, lookback, (v) => ctx.set({ lookback: v }), { id: "lookback" }),
        select("Credit", [["conversions", "Conversions"], ["value", "Value"]], metric, (v) => ctx.set({ metric: v }), { id: "metric" }),
        select("CAC and ROAS by", MODELS, cacModel, (v) => ctx.set({ cac: v }), { id: "cac-model" }),
      ),
      first ? h("p", { class: "lede" }, `${f.int(first.conversions)} conversions worth ${f.money(first.value, currency)} from journeys with a touch in the ${LOOKBACKS.find(([v]) => v === lookback)[1]} before; ${f.int(first.nulls)} journeys without a conversion.`) : null,
    ),
  );
  if (!channels.length) {
    ctx.main.append(notice("info", "No conversion with a marketing touch in this period."));
    return;
  }
  const modelCols = present.map(([m, label]) => ({ label, id: m, num: true, get: (ch) => fmt(credit(m, ch)), value: (ch) => credit(m, ch) }));
  const cacCols = cac.data
    ? [
        { label: "Spend", id: "spend", num: true, get: (ch) => (cacRows.get(ch)?.spend ? f.money(cacRows.get(ch).spend, currency) : f.dash), value: (ch) => cacRows.get(ch)?.spend },
        { label: "New customers", id: "new_customers", num: true, get: (ch) => f.dec(cacRows.get(ch)?.new_customers), value: (ch) => cacRows.get(ch)?.new_customers },
        { label: "CAC", id: "cac", num: true, get: (ch) => f.money(cacRows.get(ch)?.cac, currency), value: (ch) => cacRows.get(ch)?.cac },
        { label: "ROAS", id: "roas", num: true, get: (ch) => f.ratio(cacRows.get(ch)?.roas), value: (ch) => cacRows.get(ch)?.roas },
      ]
    : [];
  ctx.main.append(
    card("Credit by channel and model (" + (metric === "value" ? "value" : "conversions") + ")", chart),
    card(
      "Channels × models",
      table([{ label: "Channel", get: (ch) => ch }, ...modelCols], channels, { key: (ch) => ch, caption: "Attributed " + metric + " per channel under each model." }),
    ),
    card(
      "Cost and return (" + MODELS.find(([m]) => m === cacModel)[1] + ")",
      cac.error ? notice("warn", "CAC and ROAS could not be loaded: " + cac.error.message) : null,
      cac.data && !hasSpend ? notice("info", "No ad spend is known for this period, so CAC and ROAS cannot be computed. Import spend to see them.") : null,
      cac.data ? table([{ label: "Channel", get: (ch) => ch }, ...cacCols], channels, { key: (ch) => ch }) : null,
    ),
  );
  ctx.charts.draw(chart, (t) => ({
    grid: { left: 8, right: 24, top: 48, bottom: 24, containLabel: true },
    tooltip: { trigger: "item", formatter: (x) => tip(x.name, [[x.seriesName, fmt(x.value)]]) },
    xAxis: axis(t, { type: "value" }),
    yAxis: axis(t, { type: "category", inverse: true, data: channels, axisLabel: { color: t.muted, width: 120, overflow: "truncate" } }),
    series: present.map(([m, label]) => ({ name: label, type: "bar", data: channels.map((ch) => credit(m, ch)), barMaxWidth: 10 })),
  }));
}
