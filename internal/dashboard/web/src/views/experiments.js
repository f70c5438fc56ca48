// Experiments: each experiment's arms with exposures, conversion rates and their intervals,
// the lift over control with its interval, the chance to beat control and to be best, and a
// clear warning when the traffic split does not match the design (sample ratio mismatch).

import { h, card, table, notice } from "../lib/dom.js";
import { report } from "../lib/api.js";
import * as f from "../lib/format.js";

export default async function experiments(ctx) {
  const r = await report("experiments", ctx.params, {}, { signal: ctx.signal });
  const list = r.data.experiments || [];
  if (!list.length) {
    ctx.main.append(notice("info", "The rules define no experiment."));
    return;
  }
  for (const x of list) ctx.main.append(experiment(x));
}

// isControlName reports whether an arm's id already says it is the control, so that the
// page does not say "control control".
const isControlName = (id) => /^control$/i.test(id || "");

function experiment(x) {
  const arms = x.arms || [];
  const top = Math.min(1, Math.max(0.01, ...arms.map((a) => a.high ?? a.rate ?? 0)) * 1.15);
  const pos = (v) => Math.max(0, Math.min(100, (v / top) * 100));
  const interval = (a) => {
    const plot = h("div", { class: "plot mini", role: "img", "aria-label": `${f.pct(a.low)} to ${f.pct(a.high)}` });
    if (a.low != null && a.high != null) {
      const ci = h("span", { class: "ci" });
      ci.style.left = pos(a.low) + "%";
      ci.style.width = pos(a.high) - pos(a.low) + "%";
      plot.append(ci);
    }
    if (a.rate != null) {
      const dot = h("span", { class: "dot " + (a.arm === x.control ? "none" : "ok") });
      dot.style.left = pos(a.rate) + "%";
      plot.append(dot);
    }
    return plot;
  };
  const vs = (a, k) => (a.vs_control ? a.vs_control[k] : null);
  const srm = x.srm || {};
  return h(
    "section",
    { class: "card experiment", "data-experiment": x.id },
    h("h2", null, "Experiment ", h("code", null, x.id)),
    h("p", { class: "lede" }, [x.slot ? `Slot ${x.slot}` : null, x.goal ? `goal: ${f.label(x.goal)}` : null, x.control ? (isControlName(x.control) ? "arms compared with the control" : `arms compared with the control, ${x.control}`) : null].filter(Boolean).join(" · ")),
    srm.mismatch
      ? notice(
          "error",
          h("strong", null, "Sample ratio mismatch. "),
          `The arms' exposures do not match the designed split (χ² ${srm.chi_square == null ? f.dash : srm.chi_square.toFixed(1)}, p ${srm.p == null ? f.dash : srm.p.toExponential(1)}). Traffic was not assigned as designed, so the comparison below cannot be trusted until the cause is found.`,
        )
      : null,
    table(
      [
        { label: "Arm", get: (a) => h("span", null, a.arm, a.arm === x.control && !isControlName(a.arm) ? h("span", { class: "badge none" }, "control") : null) },
        { label: "Exposures", id: "exposures", num: true, get: (a) => f.int(a.exposures), value: (a) => a.exposures },
        { label: "Conversions", id: "conversions", num: true, get: (a) => f.int(a.conversions), value: (a) => a.conversions },
        { label: "Rate", id: "rate", num: true, get: (a) => f.pct(a.rate), value: (a) => a.rate },
        { label: "95% interval", cls: "plotcell", get: (a) => h("div", null, interval(a), h("small", null, `${f.pct(a.low)} – ${f.pct(a.high)}`)) },
        { label: "Lift", id: "lift", num: true, get: (a) => (a.vs_control ? h("span", { class: liftClass(a.vs_control) }, f.signedPct(vs(a, "lift"))) : f.dash), value: (a) => vs(a, "lift") },
        { label: "Lift 95%", num: true, get: (a) => (a.vs_control ? `${f.signedPct(vs(a, "lift_low"))} to ${f.signedPct(vs(a, "lift_high"))}` : f.dash) },
        { label: "Chance to beat control", id: "chance_to_beat", num: true, get: (a) => (a.vs_control ? f.pct(vs(a, "chance_to_beat")) : f.dash), value: (a) => vs(a, "chance_to_beat") },
        { label: "Chance to be best", id: "chance_to_be_best", num: true, get: (a) => f.pct(a.chance_to_be_best), value: (a) => a.chance_to_be_best },
      ],
      arms,
      { key: (a) => a.arm, empty: "Nobody was exposed to this experiment in this period." },
    ),
    h("p", { class: "hint" }, "Lift is the arm's rate over the control's, minus one. An interval that spans 0 means the data cannot yet tell the arms apart." + (x.best_method === "simulation" ? " Chance to be best is estimated by simulation." : "")),
  );
}

function liftClass(c) {
  if (c.lift_low != null && c.lift_low > 0) return "up";
  if (c.lift_high != null && c.lift_high < 0) return "down";
  return "flat";
}
