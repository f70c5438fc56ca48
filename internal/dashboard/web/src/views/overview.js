// Overview: the period's visitors, sessions, conversions, conversion rate and value against
// the period before, by day and by channel.

import { h, card, table, notice } from "../lib/dom.js";
import { axis, tip, channelColors } from "../lib/charts.js";
import { report } from "../lib/api.js";
import * as f from "../lib/format.js";

const KPIS = [
  ["visitors", "Visitors", f.int],
  ["sessions", "Sessions", f.int],
  ["conversions", "Conversions", f.int],
  ["conversion_rate", "Conversion rate", f.pct],
  ["value", "Value", f.money],
];

// THIN says why a change is not shown: the report leaves it out (null) when the previous
// period holds too little to compare (docs/analytics.md, Overview).
const THIN = "The previous period holds too little to compare with (fewer than 20, or under a tenth of this period's), as when the data began during it.";

export default async function overview(ctx) {
  const r = await report("overview", ctx.params, {}, { signal: ctx.signal });
  const d = r.data;
  const prev = d.previous || {};
  const changes = d.change || {};
  const money = (n) => f.money(n, d.currency);
  const kpis = h(
    "div",
    { class: "kpis" },
    KPIS.map(([k, label, fmt]) => {
      if (k === "value") fmt = money;
      const now = d[k], before = prev[k], change = changes[k];
      const dir = change == null || change === 0 ? "flat" : change > 0 ? "up" : "down";
      return h(
        "div",
        { class: "kpi", "data-kpi": k, "data-value": now ?? "", "data-change": change ?? "" },
        h("span", { class: "label" }, label),
        h("span", { class: "value" }, fmt(now)),
        change == null
          ? h("span", { class: "change flat", title: THIN }, `${f.dash} only ${fmt(before)} in the previous period`)
          : h("span", { class: "change " + dir, title: "Previous period: " + fmt(before) }, f.signedPct(change) + " vs previous period"),
      );
    }),
  );
  const days = d.by_day || [];
  const channels = (d.by_channel || []).slice().sort((a, b) => b.visitors - a.visitors);
  const byDay = h("div", { class: "chart", id: "chart-days" });
  const byChannel = h("div", { class: "chart", id: "chart-channels" });
  ctx.main.append(
    kpis,
    card("By day", days.length ? byDay : notice("info", "No visits in this period.")),
    h(
      "div",
      { class: "grid2" },
      card("Visitors by channel", channels.length ? byChannel : notice("info", "No visits in this period.")),
      card(
        "Channels",
        table(
          [
            { label: "Channel", get: (c) => c.channel },
            { label: "Visitors", num: true, get: (c) => f.int(c.visitors), value: (c) => c.visitors },
            { label: "Sessions", num: true, get: (c) => f.int(c.sessions), value: (c) => c.sessions },
            { label: "Conversions", num: true, get: (c) => f.int(c.conversions), value: (c) => c.conversions },
            { label: "Value", num: true, get: (c) => money(c.value), value: (c) => c.value },
          ],
          channels,
          { key: (c) => c.channel },
        ),
      ),
    ),
  );
  if (days.length) {
    ctx.charts.draw(byDay, (t) => ({
      grid: { left: 48, right: 48, top: 36, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: axis(t, { type: "category", data: days.map((x) => f.day(x.date)) }),
      yAxis: [axis(t, { type: "value", minInterval: 1 }), axis(t, { type: "value", minInterval: 1, splitLine: { show: false } })],
      series: [
        { name: "Visitors", type: "line", showSymbol: false, data: days.map((x) => x.visitors) },
        { name: "Sessions", type: "line", showSymbol: false, data: days.map((x) => x.sessions) },
        { name: "Conversions", type: "bar", yAxisIndex: 1, data: days.map((x) => x.conversions), barMaxWidth: 14 },
      ],
    }));
  }
  if (channels.length) {
    ctx.charts.draw(byChannel, (t) => {
      const colors = channelColors(t, channels.map((c) => c.channel));
      byChannel.dataset.colors = JSON.stringify(Object.fromEntries(channels.map((c, i) => [c.channel, colors[i]])));
      return {
        tooltip: { trigger: "item", formatter: (p) => tip(p.name, [["Visitors", f.int(p.value)], ["Share", f.pct(p.percent / 100)]]) },
        legend: { type: "scroll", orient: "vertical", right: 0, top: "middle" },
        series: [{ name: "Visitors", type: "pie", radius: ["40%", "70%"], center: ["35%", "50%"], label: { show: false }, data: channels.map((c, i) => ({ name: c.channel, value: c.visitors, itemStyle: { color: colors[i] } })) }],
      };
    });
  }
}
