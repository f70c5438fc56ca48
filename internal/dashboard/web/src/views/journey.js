// Journey map: a Sankey of the steps (or stages) visitors went through in the period, the
// flow between them and where journeys stopped; a click on a step shows who its visitors are.

import { h, card, table, notice, clear } from "../lib/dom.js";
import { tip } from "../lib/charts.js";
import { report, getJSON } from "../lib/api.js";
import * as f from "../lib/format.js";
import { stoppedHref } from "../lib/replays.js";

const END = "(journey stops)";

export default async function journey(ctx) {
  const level = ctx.params.level === "stages" ? "stages" : "steps";
  const r = await report("journey", ctx.params, { paths: 10 }, { signal: ctx.signal });
  const d = r.data;
  const nodes = (level === "stages" ? d.stages : d.steps) || [];
  const edges = (level === "stages" ? d.stage_edges : d.step_edges) || [];
  const { kept, loops } = acyclic(nodes, edges);

  const toggle = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Level" },
    ["steps", "stages"].map((l) => h("button", { type: "button", "aria-pressed": String(l === level), onclick: () => ctx.set({ level: l, step: "" }) }, l === "steps" ? "Steps" : "Stages")),
  );
  const sankey = h("div", { class: "chart tall", id: "chart-sankey" });
  const detail = h("div", { class: "detail", id: "step-detail", "aria-live": "polite" });
  ctx.main.append(
    h("div", { class: "view-head" }, h("p", { class: "lede" }, `${f.int(d.visitors)} visitors reached a step; ${f.int(d.sessions)} sessions.`), toggle),
    card(level === "steps" ? "Steps and the flow between them" : "Stages and the flow between them", nodes.length ? sankey : notice("info", "No step was reached in this period."), nodes.length ? h("p", { class: "hint" }, "Click a " + (level === "steps" ? "step" : "stage") + " to see who its visitors are.") : null),
    detail,
    h(
      "div",
      { class: "grid2" },
      card(
        "Most common paths in a session",
        table(
          [
            { label: "Path", get: (p) => p.steps.map(f.label).join(" → ") },
            { label: "Sessions", num: true, get: (p) => f.int(p.sessions), value: (p) => p.sessions },
            { label: "Share", num: true, get: (p) => f.pct(p.share), value: (p) => p.share },
          ],
          d.paths || [],
        ),
        d.other_paths ? h("p", { class: "hint" }, `${f.int(d.other_paths)} sessions took other paths.`) : null,
      ),
      card(
        "Where journeys stop",
        table(
          [
            { label: level === "steps" ? "Step" : "Stage", get: (n) => h("span", { title: n.name }, f.label(n.name)) },
            { label: "Visitors", num: true, get: (n) => f.int(n.visitors), value: (n) => n.visitors },
            { label: "Stopped here", num: true, get: (n) => f.int(n.exits), value: (n) => n.exits },
            { label: "Of arrivals", num: true, get: (n) => f.pct(n.arrivals ? n.exits / n.arrivals : null) },
          ],
          nodes.slice().sort((a, b) => b.exits - a.exits),
          { key: (n) => n.name },
        ),
        loops.length ? h("p", { class: "hint" }, "Flows back to an earlier step, left out of the diagram: " + loops.map((e) => `${f.label(e.from)} → ${f.label(e.to)} (${f.int(e.count)})`).join(", ") + ".") : null,
      ),
    ),
  );
  if (!nodes.length) return;

  const byName = new Map(nodes.map((n) => [n.name, n]));
  const exits = nodes.filter((n) => n.exits > 0);
  const name = (id) => (id === END ? END : f.label(id));
  const chart = ctx.charts.draw(sankey, (t) => {
    // On a narrow screen the layers stand too close for their labels: the diagram runs top
    // to bottom there, and a label that would overlap another is left to the tooltip.
    const narrow = sankey.clientWidth < 640;
    sankey.classList.toggle("portrait", narrow);
    return {
      tooltip: {
        trigger: "item",
        formatter: (p) => {
          if (p.dataType === "edge") return tip(`${name(p.data.source)} → ${name(p.data.target)}`, [["Transitions", f.int(p.data.value)]]);
          const n = byName.get(p.name);
          if (!n) return tip(p.name, [["Journeys", f.int(p.value)]]);
          return tip(name(n.name), [["Visitors", f.int(n.visitors)], ["Arrivals", f.int(n.arrivals)], ["Started here", f.int(n.entries)], ["Stopped here", f.int(n.exits)]]);
        },
      },
      legend: false,
      series: [
        {
          type: "sankey",
          orient: narrow ? "vertical" : "horizontal",
          left: 8,
          right: narrow ? 8 : 140,
          top: 16,
          bottom: narrow ? 56 : 16,
          nodeGap: 14,
          draggable: false,
          emphasis: { focus: "adjacency" },
          label: narrow
            ? { color: t.fg, fontSize: 12, position: "bottom", rotate: 0, width: 130, overflow: "truncate", formatter: (p) => name(p.name) }
            : { color: t.fg, fontSize: 14, formatter: (p) => name(p.name) },
          labelLayout: { hideOverlap: true },
          lineStyle: { color: "gradient", opacity: 0.35 },
          data: nodes.map((n) => ({ name: n.name, value: n.arrivals })).concat(exits.length ? [{ name: END, itemStyle: { color: t.muted } }] : []),
          links: kept.map((e) => ({ source: e.from, target: e.to, value: e.count })).concat(exits.map((n) => ({ source: n.name, target: END, value: n.exits }))),
        },
      ],
    };
  });
  const show = (name) => {
    const n = byName.get(name);
    if (!n) return;
    ctx.replace({ step: name });
    stepDetail(ctx, detail, level, n, edges);
  };
  chart.on("click", (p) => p.dataType === "node" && show(p.name));
  if (ctx.params.step) show(ctx.params.step);
}

/**
 * acyclic keeps the flows that a Sankey can draw: it adds edges heaviest first and leaves out
 * each one that would close a loop (a Sankey must be acyclic); those are returned as loops.
 */
export function acyclic(nodes, edges) {
  const names = new Set(nodes.map((n) => n.name));
  const out = new Map();
  const reaches = (from, to) => {
    const seen = new Set([from]);
    const stack = [from];
    while (stack.length) {
      const x = stack.pop();
      if (x === to) return true;
      for (const y of out.get(x) || []) if (!seen.has(y)) seen.add(y), stack.push(y);
    }
    return false;
  };
  const kept = [], loops = [];
  for (const e of edges.slice().sort((a, b) => b.count - a.count || (a.from + a.to).localeCompare(b.from + b.to))) {
    if (!names.has(e.from) || !names.has(e.to) || e.count <= 0) continue;
    if (e.from === e.to || reaches(e.to, e.from)) {
      loops.push(e);
      continue;
    }
    if (!out.has(e.from)) out.set(e.from, []);
    out.get(e.from).push(e.to);
    kept.push(e);
  }
  return { kept, loops };
}

// stepDetail shows one step's (or stage's) figures and flows, and who its visitors are.
async function stepDetail(ctx, el, level, n, edges) {
  const ins = edges.filter((e) => e.to === n.name).sort((a, b) => b.count - a.count);
  const outs = edges.filter((e) => e.from === n.name).sort((a, b) => b.count - a.count);
  const flows = (list, dir) =>
    table([{ label: dir, get: (e) => f.label(dir === "From" ? e.from : e.to) }, { label: "Visitors", num: true, get: (e) => f.int(e.visitors), value: (e) => e.visitors }], list, { empty: dir === "From" ? "Nobody came from another step." : "Nobody went on to another step." });
  clear(el).append(
    card(
      (level === "steps" ? "Step: " : "Stage: ") + f.label(n.name),
      h(
        "div",
        { class: "kpis small" },
        [["Visitors", n.visitors], ["Arrivals", n.arrivals], ["Started here", n.entries], ["Stopped here", n.exits]].map(([l, v]) => h("div", { class: "kpi" }, h("span", { class: "label" }, l), h("span", { class: "value" }, f.int(v)))),
      ),
      h("div", { class: "grid2" }, flows(ins, "From"), flows(outs, "To")),
      level === "steps" && n.exits ? h("p", null, h("a", { href: stoppedHref(ctx.params, n.name), id: "step-replays", "data-replays": n.name }, "Replays of visitors who stopped here")) : null,
      h("div", { class: "who", "data-who": n.name }, h("p", { class: "hint" }, "Loading who they are…")),
    ),
  );
  const who = el.querySelector(".who");
  who.dataset.state = "loading";
  const opts = { signal: ctx.signal };
  try {
    // A one-step funnel of the step, broken down, counts who reached it by channel, device
    // and country; the surveys report has the answers given in each stage.
    // The rules map each step to its stage, so a step shows the answers of its stage.
    const [groups, surveys, rules] = await Promise.all([
      level === "steps" ? Promise.all(["channel", "device", "country"].map((b) => report("funnel", ctx.params, { steps: n.name, breakdown: b }, opts))) : null,
      report("surveys", ctx.params, { texts: 0 }, opts),
      level === "steps" ? getJSON("/api/v1/rules", opts).catch(() => null) : null,
    ]);
    clear(who);
    const group = (title, one, r) => {
      const rows = ((r && r.data.funnel && r.data.funnel.groups) || []).map((g) => ({ key: g.key, visitors: (g.steps[0] || {}).visitors || 0 })).filter((g) => g.visitors > 0).sort((a, b) => b.visitors - a.visitors);
      return h("div", { "data-group": title.toLowerCase() }, h("h3", null, title), table([{ label: one, get: (x) => x.key }, { label: "Visitors", num: true, get: (x) => f.int(x.visitors), value: (x) => x.visitors }], rows));
    };
    if (groups) who.append(h("div", { class: "grid3" }, group("Channels", "Channel", groups[0]), group("Devices", "Device", groups[1]), group("Countries", "Country", groups[2])));
    else who.append(h("p", { class: "hint" }, "Switch to Steps to see a step's visitors by channel, device and country."));
    const stage = level === "stages" ? n.name : ((rules && rules.steps) || []).find((x) => x.id === n.name)?.stage || "";
    const answers = [];
    for (const sv of surveys.data.surveys || []) {
      const g = stage ? (sv.by_stage || []).find((x) => x.key === stage) : null;
      if (g && g.answers) answers.push({ sv, g });
    }
    const box = h("div", { class: "answers", "data-stage": stage });
    who.append(box);
    if (!stage) {
      box.append(h("p", { class: "hint" }, "This step belongs to no stage, and survey answers are counted by stage."));
    } else {
      box.append(h("h3", null, `Survey answers given at the ${f.label(stage)} stage`));
      if (level === "steps") box.append(h("p", { class: "hint" }, `Answers are counted by stage: these are all answers given at the ${f.label(stage)} stage, which ${f.label(n.name)} belongs to, not only by this step's visitors.`));
      if (!answers.length) box.append(h("p", { class: "empty" }, `No survey was answered at the ${f.label(stage)} stage.`));
      for (const { sv, g } of answers) {
        box.append(
          h("h3", null, h("code", null, sv.id), sv.question ? " " + sv.question : ""),
          g.nps
            ? h("p", null, `NPS ${g.nps.score == null ? f.dash : Math.round(g.nps.score)} from ${f.int(g.answers)} answers`)
            : table([{ label: "Answer", get: (c) => c.choice }, { label: "Answers", num: true, get: (c) => f.int(c.count), value: (c) => c.count }, { label: "Share", num: true, get: (c) => f.pct(c.share) }], g.choices || [], { empty: `${f.int(g.answers)} open answers.` }),
        );
      }
    }
    who.dataset.state = "done";
  } catch (e) {
    if (e.name !== "AbortError") {
      clear(who).append(notice("warn", "Who the visitors are could not be loaded: " + e.message));
      who.dataset.state = "error";
    }
  }
}
