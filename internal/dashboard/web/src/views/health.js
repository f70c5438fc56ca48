// Step health: every transition of a funnel this week judged against its baseline weeks:
// healthy, needs attention or broken, with the rate, its Wilson interval and the baseline
// band; the fix-first ranking (funnel completions lost) on top.

import { h, card, table, notice, select } from "../lib/dom.js";
import { report } from "../lib/api.js";
import * as f from "../lib/format.js";
import { isoDay } from "../lib/state.js";

export const STATUS = {
  healthy: ["Healthy", "ok"],
  attention: ["Needs attention", "warn"],
  broken: ["Broken", "bad"],
  insufficient_data: ["Not enough data", "none"],
};

export default async function health(ctx) {
  const p = ctx.params;
  const r = await report("health", p, { funnel: p.funnel }, { signal: ctx.signal });
  const d = r.data || {};
  const ids = d.funnels || [];
  const id = d.funnel || (p.funnel && ids.includes(p.funnel) ? p.funnel : ids[0]);
  const all = d.transitions || [];
  const fix = d.fix_first || [];
  const counts = Object.fromEntries(Object.keys(STATUS).map((s) => [s, all.filter((t) => t.status === s).length]));
  ctx.main.append(
    h(
      "div",
      { class: "view-head" },
      h("div", { class: "controls" }, select("Funnel", ids.map((x) => [x, x]), id, (v) => ctx.set({ funnel: v }), { id: "funnel" })),
      h(
        "p",
        { class: "lede" },
        d.week_from ? `The week ${isoDay(d.week_from)} to ${isoDay(d.week_to - 86400000)} against the eight weeks before: ` : "This week against the weeks before: ",
        Object.entries(STATUS).map(([s, [label, cls]]) => h("span", { class: "badge " + cls, "data-status-count": s }, `${counts[s]} ${label.toLowerCase()}`)),
      ),
    ),
  );
  for (const n of d.notes || []) ctx.main.append(notice("info", n));
  if (!all.length) {
    ctx.main.append(notice("info", "No transition to judge: the funnel has fewer than two steps, or nobody reached it."));
    return;
  }
  // One scale for every row, from 0 to a clean end above the highest figure drawn, so that
  // the rows read against each other.
  const scale = f.niceRate(Math.max(...all.map(top)) * 1.1);
  ctx.main.append(
    card(
      "Fix first",
      h("p", { class: "hint" }, "Transitions that lost visitors this week, by the funnel completions lost (visitors lost × their chance to complete the funnel)."),
      table(
        [
          { label: "#", num: true, get: (t) => String(fix.indexOf(t) + 1) },
          { label: "Transition", get: (t) => h("span", { title: `${t.from} → ${t.to}` }, `${f.label(t.from)} → ${f.label(t.to)}`) },
          { label: "Status", get: (t) => badge(t) },
          { label: "Visitors lost", num: true, get: (t) => f.dec(t.lost), value: (t) => t.lost },
          { label: "Chance to complete", num: true, get: (t) => f.pct(t.intent), value: (t) => t.intent },
          { label: "Completions lost", num: true, get: (t) => f.dec(t.score), value: (t) => t.score },
        ],
        fix,
        { key: (t) => t.from + ">" + t.to, empty: "Nothing to fix: no transition lost visitors against its baseline this week." },
      ),
    ),
    card(
      "Every transition",
      h("div", { class: "legend-band" }, h("span", { class: "sw rate" }), "this week's rate and its 95% interval ", h("span", { class: "sw base" }), "baseline ", h("span", { class: "sw band" }), "expected range (±2σ′, ±3σ′)"),
      h("ul", { class: "health-list" }, all.map((t) => row(t, scale))),
    ),
  );
}

function badge(t) {
  const [label, cls] = STATUS[t.status] || [t.status, "none"];
  return h("span", { class: "badge " + cls, title: t.reason || null }, label);
}

// sigma is a transition's σ′ as a rate: the spread of its expected range; null when unknown.
function sigma(t) {
  const pbar = t.baseline;
  return pbar != null && t.sigma_z != null && t.visitors > 0 ? Math.sqrt((pbar * (1 - pbar)) / t.visitors) * t.sigma_z : null;
}

// top is the highest figure a transition's plot draws.
function top(t) {
  const sig = sigma(t);
  return Math.max(t.high ?? 0, t.baseline != null && sig != null ? t.baseline + 3 * sig : 0, t.baseline ?? 0, t.rate ?? 0);
}

// row draws one transition: figures and its interval plot on a scale from 0 to scale.
function row(t, scale) {
  const n = t.visitors;
  const pbar = t.baseline;
  const sig = sigma(t);
  const pos = (v) => Math.max(0, Math.min(100, (v / scale) * 100)) + "%";
  const plot = h("div", { class: "plot", role: "img", "aria-label": `Rate ${f.pct(t.rate)}, interval ${f.pct(t.low)} to ${f.pct(t.high)}, baseline ${f.pct(pbar)}` });
  const span = (cls, a, b) => {
    const el = h("span", { class: cls });
    el.style.left = pos(Math.max(0, a));
    el.style.width = `calc(${pos(Math.min(scale, b))} - ${pos(Math.max(0, a))})`;
    return el;
  };
  if (sig != null) plot.append(span("band3", pbar - 3 * sig, pbar + 3 * sig), span("band2", pbar - 2 * sig, pbar + 2 * sig));
  if (pbar != null) {
    const b = h("span", { class: "base" });
    b.style.left = pos(pbar);
    plot.append(b);
  }
  if (t.low != null && t.high != null) plot.append(span("ci", t.low, t.high));
  if (t.rate != null) {
    const dot = h("span", { class: "dot " + (STATUS[t.status] || ["", "none"])[1] });
    dot.style.left = pos(t.rate);
    plot.append(dot);
  }
  return h(
    "li",
    { class: "health-row", "data-transition": t.from + ">" + t.to, "data-status": t.status },
    h("div", { class: "what" }, h("strong", { title: `${t.from} → ${t.to}` }, `${f.label(t.from)} → ${f.label(t.to)}`), " ", badge(t)),
    h(
      "div",
      { class: "figures" },
      h("span", null, "Rate ", h("b", null, f.pct(t.rate)), ` (${f.int(t.converted)} of ${f.int(n)})`),
      h("span", null, `95%: ${f.pct(t.low)} – ${f.pct(t.high)}`),
      h("span", null, `Baseline ${f.pct(pbar)} over ${t.baseline_weeks} weeks`),
      h("span", null, "z′ " + (t.z == null ? f.dash : t.z.toFixed(2))),
      t.reason ? h("span", { class: "muted" }, t.reason) : null,
    ),
    plot,
    h("div", { class: "scale" }, [0, scale / 2, scale].map((v) => h("span", null, f.pctScale(v)))),
  );
}
