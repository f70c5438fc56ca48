// Surveys: each survey's reach and answers: choices as charts, NPS with its promoters,
// passives and detractors, the answers by stage and by segment, and the open texts (shown as
// text, whatever visitors typed).

import { h, card, table, notice } from "../lib/dom.js";
import { axis, tip } from "../lib/charts.js";
import { report } from "../lib/api.js";
import * as f from "../lib/format.js";

const KIND = { choice: "Choice", nps: "Net Promoter Score", text: "Open answer" };
const TYPE = { single_choice: "Single choice", multiple_choice: "Multiple choice", rating: "Rating 1–5", nps: "Net Promoter Score", text: "Open answer" };

export default async function surveys(ctx) {
  const r = await report("surveys", ctx.params, { texts: 50 }, { signal: ctx.signal });
  const list = r.data.surveys || [];
  if (!list.length) {
    ctx.main.append(notice("info", "The rules define no survey."));
    return;
  }
  for (const s of list) ctx.main.append(survey(ctx, s));
}

function survey(ctx, s) {
  const stats = h(
    "div",
    { class: "kpis small" },
    [
      ["Shown", f.int(s.shown)],
      ["Answered", f.int(s.answered)],
      ["Answer rate", f.pct(s.answer_rate)],
      ["Dismissed", f.int(s.dismissed)],
      ["Visitors who answered", f.int(s.visitors_answered) + " of " + f.int(s.visitors_shown)],
    ].map(([l, v]) => h("div", { class: "kpi" }, h("span", { class: "label" }, l), h("span", { class: "value" }, v))),
  );
  const body = [stats];
  if (s.kind === "nps" && s.nps) {
    const n = s.nps;
    const el = h("div", { class: "chart short" });
    el.style.height = "120px";
    body.push(
      h("div", { class: "nps" }, h("span", { class: "label" }, "NPS"), h("span", { class: "score", "data-nps": n.score ?? "" }, n.score == null ? f.dash : Math.round(n.score)), n.invalid ? h("span", { class: "muted" }, `${f.int(n.invalid)} answers were not 0–10`) : null),
      el,
    );
    queueMicrotask(() =>
      ctx.charts.draw(el, (t) => ({
        grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
        tooltip: { trigger: "item", formatter: (x) => tip(x.seriesName, [["Answers", f.int(x.value)]]) },
        // The answers in all are the axis's end, so that the bar fills its width.
        xAxis: axis(t, { type: "value", show: false, min: 0, max: Math.max(1, n.detractors + n.passives + n.promoters) }),
        yAxis: axis(t, { type: "category", data: ["Answers"], show: false }),
        series: [
          ["Detractors (0–6)", n.detractors, "--bad"],
          ["Passives (7–8)", n.passives, "--muted"],
          ["Promoters (9–10)", n.promoters, "--ok"],
        ].map(([name, v, c]) => ({ name, type: "bar", stack: "nps", data: [v], barWidth: 36, itemStyle: { color: getComputedStyle(document.documentElement).getPropertyValue(c).trim() }, label: { show: v > 0, color: "#fff" } })),
      })),
    );
  }
  if (s.kind === "choice" && (s.choices || []).length) {
    const el = h("div", { class: "chart short" });
    el.style.height = Math.max(160, 36 * s.choices.length + 40) + "px";
    body.push(el);
    queueMicrotask(() =>
      ctx.charts.draw(el, (t) => ({
        grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "item", formatter: (x) => tip(x.name, [["Answers", f.int(x.value)], ["Share", f.pct(s.choices[x.dataIndex].share)]]) },
        legend: false,
        xAxis: axis(t, { type: "value", minInterval: 1 }),
        yAxis: axis(t, { type: "category", inverse: true, data: s.choices.map((c) => c.choice), axisLabel: { color: t.muted, width: 160, overflow: "truncate" } }),
        series: [{ name: "Answers", type: "bar", data: s.choices.map((c) => c.count), label: { show: true, position: "right", color: t.muted, formatter: (x) => f.pct(s.choices[x.dataIndex].share) } }],
      })),
    );
  }
  if (s.kind !== "text") {
    // A column per choice: side by side, two such tables would scroll sideways even on a
    // wide screen, so they go one under the other.
    const wide = s.kind !== "nps" && (s.choices || []).length > 2;
    body.push(h("div", { class: wide ? "stack" : "grid2" }, groups("By stage", s, s.by_stage), groups("By segment", s, s.by_segment)));
  }
  if (s.kind === "text" || (s.texts || []).length) {
    body.push(
      h("h3", null, "Open answers"),
      table(
        [
          { label: "When", get: (x) => f.time(x.at) },
          { label: "Stage", get: (x) => (x.stage ? f.label(x.stage) : f.dash) },
          { label: "Visitor", get: (x) => h("a", { href: "#/visitor?vid=" + encodeURIComponent(x.vid), class: "mono" }, x.vid.slice(0, 10)) },
          { label: "Answer", cls: "answer", get: (x) => x.text },
        ],
        s.texts || [],
        { empty: "No open answer in this period." },
      ),
    );
  }
  return h(
    "section",
    { class: "card survey", "data-survey": s.id },
    h("h2", null, "Survey ", h("code", null, s.id), h("span", { class: "badge none" }, TYPE[s.type] || KIND[s.kind] || s.kind)),
    s.question ? h("p", { class: "lede question" }, s.question) : null,
    ...body,
  );
}

// groups tabulates the answers of one breakdown: choice shares or the NPS per group.
function groups(title, s, list) {
  list = list || [];
  const choices = (s.choices || []).map((c) => c.choice);
  const cols = [{ label: title.replace("By ", "").replace(/^./, (c) => c.toUpperCase()), get: (g) => h("span", { title: g.key }, f.label(g.key)) }, { label: "Answers", num: true, get: (g) => f.int(g.answers), value: (g) => g.answers }];
  if (s.kind === "nps") cols.push({ label: "NPS", num: true, get: (g) => (g.nps && g.nps.score != null ? String(Math.round(g.nps.score)) : f.dash) });
  else
    for (const c of choices.slice(0, 5)) {
      cols.push({ label: c, num: true, get: (g) => f.pct(((g.choices || []).find((x) => x.choice === c) || {}).share) });
    }
  return h("div", null, h("h3", null, title), table(cols, list, { empty: "No answer." }));
}
