// Funnels: each funnel of the rules as bars per step with conversion, drop-off and the median
// time between steps, optionally broken down by channel, device, country, segment or an
// experiment's arms.

import { h, card, table, notice, select } from "../lib/dom.js";
import { axis, tip } from "../lib/charts.js";
import { report } from "../lib/api.js";
import { stoppedHref } from "../lib/replays.js";
import * as f from "../lib/format.js";

const BREAKDOWNS = [
  ["", "No breakdown"],
  ["channel", "Channel"],
  ["device", "Device"],
  ["country", "Country"],
  ["segment", "Segment"],
];
const MAX_GROUPS = 8;

export default async function funnels(ctx) {
  const p = ctx.params;
  const [r, exps] = await Promise.all([
    report("funnel", p, { funnel: p.funnel, breakdown: p.breakdown }, { signal: ctx.signal }),
    // The experiments name the arm breakdowns; the funnel shows without them.
    report("experiments", p, {}, { signal: ctx.signal }).catch(() => null),
  ]);
  const ids = r.data.funnels || [];
  const res = r.data.funnel;
  const id = r.data.id || (p.funnel && ids.includes(p.funnel) ? p.funnel : ids[0]);
  const breakdowns = BREAKDOWNS.concat(((exps && exps.data.experiments) || []).map((e) => ["arm:" + e.id, "Arms of " + e.id]));
  ctx.main.append(
    h(
      "div",
      { class: "view-head" },
      h(
        "div",
        { class: "controls" },
        select("Funnel", ids.map((x) => [x, x]), id, (v) => ctx.set({ funnel: v }), { id: "funnel" }),
        select("Breakdown", breakdowns, p.breakdown || "", (v) => ctx.set({ breakdown: v }), { id: "breakdown" }),
      ),
      res ? h("p", { class: "lede" }, (r.data.description ? r.data.description + ". " : "") + `${f.int(res.entered)} visitors entered; ${res.mode} steps within ${f.duration(res.window_s)}` + (res.excluded ? `; ${f.int(res.excluded)} excluded.` : ".")) : null,
    ),
    ...(r.data.notes || []).map((n) => notice("info", n)),
  );
  if (!res || !ids.length) {
    ctx.main.append(notice("info", "The rules define no funnel. Add one under funnels: in the rules."));
    return;
  }
  const steps = res.steps || [];
  const bars = h("div", { class: "chart", id: "chart-funnel" });
  ctx.main.append(
    card("Visitors at each step", res.entered ? bars : notice("info", "Nobody entered this funnel in this period.")),
    card(
      "Steps",
      table(
        [
          { label: "Step", get: (s) => h("span", { title: s.step }, f.label(s.step)) },
          { label: "Visitors", id: "visitors", num: true, get: (s) => f.int(s.visitors), value: (s) => s.visitors },
          { label: "From previous", id: "from_previous", num: true, get: (s) => f.pct(s.conversion_from_previous), value: (s) => s.conversion_from_previous },
          { label: "From first", id: "from_first", num: true, get: (s) => f.pct(s.conversion_from_first), value: (s) => s.conversion_from_first },
          { label: "Drop-off", id: "drop_off", num: true, get: (s) => f.int(s.drop_off), value: (s) => s.drop_off },
          { label: "Median time", id: "median_time", num: true, get: (s) => h("span", { title: "Mean " + f.duration(s.mean_time_s) }, f.duration(s.median_time_s)), value: (s) => s.median_time_s },
          { label: "Replays", id: "replays", get: (s) => (s.drop_off ? h("a", { href: stoppedHref(p, s.step), "data-replays": s.step, title: `Recorded sessions of the visitors who reached ${f.label(s.step)} and went no further` }, "Who stopped here") : null) },
        ],
        steps,
        { key: (s) => s.step },
      ),
    ),
  );
  if (res.entered) {
    ctx.charts.draw(bars, (t) => ({
      grid: { left: 56, right: 16, top: 36, bottom: stepGridBottom(bars, steps.length) },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: (ps) => {
          const s = steps[ps[0].dataIndex];
          return tip(f.label(s.step), [["Visitors", f.int(s.visitors)], ["From previous", f.pct(s.conversion_from_previous)], ["From first", f.pct(s.conversion_from_first)], ["Dropped off", f.int(s.drop_off)], ["Median time", f.duration(s.median_time_s)]]);
        },
      },
      xAxis: axis(t, { type: "category", data: steps.map((s) => f.label(s.step)), axisLabel: stepLabels(t, bars, steps.length) }),
      yAxis: axis(t, { type: "value", minInterval: 1 }),
      series: [
        { name: "Reached", type: "bar", stack: "f", data: steps.map((s) => s.visitors), barMaxWidth: 72, label: { show: true, position: "insideTop", color: "#fff", formatter: (x) => f.pct(steps[x.dataIndex].conversion_from_first) } },
        { name: "Dropped off", type: "bar", stack: "f", data: steps.map((s) => s.drop_off), itemStyle: { color: t.line }, barMaxWidth: 72 },
      ],
    }));
  }
  const groups = (res.groups || []).slice().sort((a, b) => (b.steps[0]?.visitors || 0) - (a.steps[0]?.visitors || 0));
  if (p.breakdown) {
    const shown = groups.slice(0, MAX_GROUPS);
    const gchart = h("div", { class: "chart", id: "chart-breakdown" });
    ctx.main.append(
      card(
        "By " + (breakdowns.find(([v]) => v === p.breakdown) || [p.breakdown, p.breakdown])[1].toLowerCase(),
        shown.length ? gchart : notice("info", "No visitor in this breakdown."),
        groups.length > MAX_GROUPS ? h("p", { class: "hint" }, `The chart shows the ${MAX_GROUPS} largest groups; the table has all ${groups.length}.`) : null,
        table(
          [{ label: "Group", get: (g) => g.key }].concat(
            steps.map((s, i) => ({ label: f.label(s.step), num: true, get: (g) => h("span", { title: f.int(g.steps[i]?.visitors) + " visitors" }, i === 0 ? f.int(g.steps[0]?.visitors) : f.pct(g.steps[i]?.conversion_from_first)), value: (g) => (i === 0 ? g.steps[0]?.visitors : g.steps[i]?.conversion_from_first) })),
          ),
          groups,
          { key: (g) => g.key },
        ),
      ),
    );
    if (shown.length) {
      ctx.charts.draw(gchart, (t) => ({
        grid: { left: 56, right: 16, top: 40, bottom: stepGridBottom(gchart, steps.length) },
        tooltip: { trigger: "item", formatter: (x) => tip(x.seriesName, [[f.label(steps[x.dataIndex].step), f.pct(x.value)], ["Visitors", f.int(shown[x.seriesIndex].steps[x.dataIndex]?.visitors)]]) },
        xAxis: axis(t, { type: "category", data: steps.map((s) => f.label(s.step)), axisLabel: stepLabels(t, gchart, steps.length) }),
        yAxis: axis(t, { type: "value", max: 1, axisLabel: { color: t.muted, formatter: (v) => f.pct(v) } }),
        series: shown.map((g) => ({ name: g.key, type: "bar", data: g.steps.map((s) => s.conversion_from_first ?? 0) })),
      }));
    }
  }
}

// stepLabels lays out step names under the bars so that neighbours never overlap: each
// within its own band, wrapped onto two lines where it is too long; on a screen too narrow
// for that (a phone), slanted.
function stepLabels(t, el, n) {
  const band = ((el.clientWidth || 600) - 72) / Math.max(1, n) - 8;
  if (band < 72) return { color: t.muted, interval: 0, rotate: 35, width: 88, overflow: "truncate", fontSize: 11 };
  return { color: t.muted, interval: 0, width: Math.min(140, band), overflow: "break", lineHeight: 14 };
}

// stepGridBottom is the room under the bars that stepLabels needs.
function stepGridBottom(el, n) {
  return ((el.clientWidth || 600) - 72) / Math.max(1, n) - 8 < 72 ? 72 : 48;
}
