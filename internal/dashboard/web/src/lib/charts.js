// ECharts, reduced to the charts and components the dashboard draws (the bundle keeps only
// these), with colours taken from the page's theme.

import * as echarts from "echarts/core";
import { BarChart, LineChart, PieChart, SankeyChart } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, PieChart, SankeyChart, AriaComponent, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** theme reads the chart colours from the CSS custom properties of the current theme. */
export function theme() {
  const css = getComputedStyle(document.documentElement);
  const v = (n) => css.getPropertyValue(n).trim();
  return {
    fg: v("--fg"),
    muted: v("--muted"),
    line: v("--line"),
    bg: v("--panel"),
    palette: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => v("--c" + i)),
    // The page's font by name: a canvas does not know "inherit", and a font it cannot parse
    // leaves every label in its 10–12 px default, whatever size a chart asks for.
    font: getComputedStyle(document.body).fontFamily,
  };
}

/** base returns the options every chart shares: palette, text, tooltip. */
function base(t) {
  return {
    color: t.palette,
    backgroundColor: "transparent",
    textStyle: { color: t.fg, fontFamily: t.font },
    aria: { enabled: true },
    // Browsers driven by tests draw at once, so that a screenshot shows the whole chart.
    animation: !navigator.webdriver,
    animationDuration: 300,
    tooltip: {
      confine: true,
      backgroundColor: t.bg,
      borderColor: t.line,
      textStyle: { color: t.fg },
    },
    legend: { textStyle: { color: t.fg }, type: "scroll", top: 0 },
  };
}

// CHANNELS gives the GA4 channel groups their own colour (an index into the palette), so
// that a channel looks the same in every chart and no two common channels share one.
export const CHANNELS = ["Direct", "Organic Search", "Email", "Paid Search", "Paid Social", "Organic Social", "Referral", "Affiliates", "Display", "Organic Video", "Paid Video", "Unassigned"];

/**
 * channelColors returns a colour for each channel name, in order: a known channel its own,
 * any other the first colour no channel of the chart has yet (and only when all are taken,
 * one again).
 */
export function channelColors(t, names) {
  const used = new Set();
  const out = names.map((n) => {
    const i = CHANNELS.indexOf(n);
    if (i < 0 || i >= t.palette.length) return null;
    used.add(i);
    return t.palette[i];
  });
  let next = 0;
  return out.map((c) => {
    if (c) return c;
    while (used.has(next % t.palette.length) && used.size < t.palette.length) next++;
    const i = next++ % t.palette.length;
    used.add(i);
    return t.palette[i];
  });
}

/** axis styles a category or value axis for the theme. */
export function axis(t, extra = {}) {
  return {
    axisLine: { lineStyle: { color: t.line } },
    axisTick: { lineStyle: { color: t.line } },
    axisLabel: { color: t.muted, hideOverlap: true },
    splitLine: { lineStyle: { color: t.line, opacity: 0.6 } },
    nameTextStyle: { color: t.muted },
    ...extra,
  };
}

/**
 * tip builds a tooltip from rows of [label, value] with DOM nodes, so that names that come
 * from visitors (campaigns, answers) are shown as text.
 */
export function tip(title, rows) {
  const el = document.createElement("div");
  el.className = "tip";
  const b = document.createElement("strong");
  b.textContent = title;
  el.appendChild(b);
  for (const [k, v] of rows) {
    const r = document.createElement("div");
    const kk = document.createElement("span");
    kk.textContent = k + ": ";
    const vv = document.createElement("span");
    vv.textContent = v;
    r.append(kk, vv);
    el.appendChild(r);
  }
  return el;
}

/**
 * Charts holds the charts of one rendering of a view: they resize with their box and are
 * disposed of together when the view is left.
 */
export class Charts {
  constructor() {
    this.items = [];
  }

  /**
   * draw makes or updates the chart in el with option(theme). The sum of its series' data is
   * kept in el's data-total, so a change of the data can be seen from outside. option may
   * read el's width to lay the chart out (labels that fit, a diagram's direction): when the
   * box's width changes by much, as when a phone turns or a window is resized, the chart is
   * laid out again from option; small changes only resize it.
   */
  draw(el, option) {
    let item = this.items.find((i) => i.el === el);
    if (!item) {
      const inst = echarts.init(el, null, { renderer: "canvas" });
      // "finished" comes when every animation and progressive render is done.
      inst.on("finished", () => (el.dataset.chart = "ready"));
      item = { el, inst, option, width: el.clientWidth };
      const ro = new ResizeObserver(() => {
        if (Math.abs(el.clientWidth - item.width) >= RELAYOUT) render(item);
        else inst.resize();
      });
      ro.observe(el);
      item.ro = ro;
      this.items.push(item);
    }
    item.option = option;
    render(item);
    return item.inst;
  }

  /** dispose removes every chart. */
  dispose() {
    for (const i of this.items) {
      i.ro.disconnect();
      i.inst.dispose();
    }
    this.items = [];
  }
}

// RELAYOUT is the change of width, in CSS pixels, that lays a chart out again.
const RELAYOUT = 48;

// render sets a chart's options from its option function and the current theme.
function render(item) {
  const { el, inst } = item;
  const t = theme();
  item.width = el.clientWidth;
  inst.resize();
  const o = item.option(t);
  const b = base(t);
  // A series animates unless told otherwise, whatever the chart says: pass the choice on.
  o.series = [].concat(o.series || []).map((s) => ({ animation: b.animation, ...s }));
  el.dataset.chart = "drawing";
  inst.setOption({ ...b, ...o, tooltip: { ...b.tooltip, ...(o.tooltip || {}) }, legend: o.legend === false ? { show: false } : { ...b.legend, ...(o.legend || {}) } }, { notMerge: true });
  el.dataset.total = String(total(o.series));
}

function total(series) {
  let sum = 0;
  for (const s of [].concat(series || [])) {
    for (const d of s.data || s.links || []) {
      const v = typeof d === "number" ? d : Array.isArray(d) ? d[d.length - 1] : d && d.value;
      if (typeof v === "number" && Number.isFinite(v)) sum += v;
    }
  }
  return Math.round(sum * 1000) / 1000;
}
