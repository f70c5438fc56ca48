// Heatmaps: where the sampled visitors of a page click and how far they scroll, by device
// band. The click map is drawn over the page at the band's width, scaled to fit: the page as
// captured (its latest rrweb DOM snapshot, rebuilt by the lazily loaded player in an iframe
// sandboxed to allow-same-origin, scripts off) when the server has one, else a live preview:
// a sandboxed iframe of the page as it is now, scripts off (so the preview sends no hits and
// runs none of the page's code). The live preview's origin is the site's first configured
// origin, else the dashboard's own (the demo shop); the "Page served at" field changes it
// (the dashboard's Content-Security-Policy frames only the sites' origins); preview=live
// asks for it even when a snapshot exists. Beside it, the scroll map, and below the most
// clicked, rage-clicked and dead-clicked elements. "Visitors" keeps the clicks of one
// channel, segment, step reached or experiment arm.

import { h, card, table, notice, select } from "../lib/dom.js";
import { report, getJSON } from "../lib/api.js";
import * as f from "../lib/format.js";
import { CHANNELS } from "../lib/charts.js";
import { loadPlayer } from "../lib/replays.js";

// The width each band's preview is drawn at: a common viewport of the band.
const WIDTHS = { phone: 390, tablet: 1024, desktop: 1280 };
const BANDS = [
  ["phone", "Phone (under 768 px)"],
  ["tablet", "Tablet (768–1199 px)"],
  ["desktop", "Desktop (1200 px and wider)"],
];
// The preview shows at least this many CSS pixels of the page, and at most the grid's depth.
const MIN_HEIGHT = 900;

// FILTERS are the report's visitor filters: a view setting "who" holds kind:value.
const FILTERS = ["channel", "segment", "step", "arm"];

export default async function heatmaps(ctx) {
  const [kind, ...rest] = (ctx.params.who || "").split(":");
  const who = FILTERS.includes(kind) && rest.length ? { [kind]: rest.join(":") } : {};
  const [r, rules] = await Promise.all([
    report("heatmap", ctx.params, { page: ctx.params.page, band: ctx.params.band, ...who }, { signal: ctx.signal }),
    getJSON("/api/v1/rules", { signal: ctx.signal }).catch(() => ({})),
  ]);
  const d = r.data;
  const whoPick = select("Visitors", whoOptions(rules), ctx.params.who || "", (v) => ctx.set({ who: v }), { id: "hm-who" });
  if (!d.pages.length) {
    if (d.filter) ctx.main.append(h("div", { class: "controls heat-controls" }, whoPick));
    ctx.main.append(
      notice("info", "No heatmap data in this period. Pages are captured for the visitors a capture rule samples (see the rules guide, capture); the snippet sends their clicks and scroll depth."),
    );
    return;
  }
  const live = ctx.params.preview === "live";
  const [origin, snap] = await Promise.all([
    ctx.params.origin || previewOrigin(ctx, r.site),
    live ? { snapshot: null } : snapshot(ctx, r.site, d.page, d.band),
  ]);
  const pagePick = select("Page", d.pages.map((p) => [p.page, `${p.page} · ${f.int(p.clicks)} clicks`]), d.page, (v) => ctx.set({ page: v, band: "" }), { id: "hm-page" });
  const bands = BANDS.filter(([b]) => d.bands.some((x) => x.band === b));
  const bandPick = select("Device band", bands, d.band, (v) => ctx.set({ band: v }), { id: "hm-band" });
  const originInput = h("input", {
    id: "hm-origin",
    type: "url",
    value: origin,
    placeholder: "https://www.example.com",
    onchange: (e) => ctx.set({ origin: e.target.value.trim().replace(/\/+$/, "") }),
  });
  const originField = h("label", { class: "field" }, h("span", null, "Page served at"), originInput);
  originField.hidden = !!snap.snapshot;
  const map = clickMap(d, origin, snap, ctx);
  ctx.main.append(
    h("div", { class: "controls heat-controls" }, pagePick, bandPick, whoPick, originField),
    kpis(d),
    h("div", { class: "heat-layout" }, map.card, scrollMap(d)),
    card(
      "Most clicked elements",
      table(
        [
          { label: "Element", get: (e) => h("code", null, e.selector) },
          { label: "Clicks", id: "clicks", num: true, get: (e) => f.int(e.clicks), value: (e) => e.clicks },
          { label: "Share", num: true, get: (e) => f.pct(d.clicks ? e.clicks / d.clicks : null) },
        ],
        d.elements.slice(0, 20),
        { key: (e) => e.selector, empty: "No clicks on this page and band in this period." },
      ),
      d.count_error ? h("p", { class: "hint" }, `Counts are kept for the ${d.elements.length} most clicked elements; each may be over by at most ${f.int(d.count_error)}.`) : null,
    ),
    h(
      "div",
      { class: "grid2" },
      card("Rage clicks", h("p", { class: "hint" }, "Three or more clicks within a second in the same spot: visitors expecting something to happen."), issues(d.rage_top, "rage")),
      card("Dead clicks", h("p", { class: "hint" }, "Clicks on something that is not a link or a form control, after which nothing on the page changed for a second."), issues(d.dead_top, "dead")),
    ),
  );
  if (!(await map.mount())) originField.hidden = false;
}

/**
 * snapshot fetches the page's latest DOM snapshot for the band: {snapshot}, null when the
 * server has none to give (404: none captured, or replay is off; another 4xx: the view's
 * settings do not name one page of one site), or {snapshot: null, error} when it could not
 * be read (the network, the server); either way the view falls back to the live preview.
 */
async function snapshot(ctx, site, page, band) {
  const q = new URLSearchParams({ page, band });
  if (site) q.set("site", site);
  try {
    return { snapshot: await getJSON("/api/v1/reports/heatmap/snapshot?" + q, { signal: ctx.signal }) };
  } catch (e) {
    if (e.name === "AbortError") throw e;
    return { snapshot: null, error: e.status >= 400 && e.status < 500 ? null : e };
  }
}

function kpis(d) {
  const k = (id, label, v) => h("div", { class: "kpi", "data-kpi": id, "data-value": v }, h("span", { class: "label" }, label), h("span", { class: "value" }, f.int(v)));
  return h("div", { class: "kpis" }, k("clicks", "Clicks", d.clicks), k("rage", "Rage clicks", d.rage_clicks), k("dead", "Dead clicks", d.dead_clicks), k("pageviews", "Captured pageviews", d.pageviews));
}

function issues(list, kind) {
  return table(
    [
      { label: "Element", get: (e) => h("code", null, e.selector) },
      { label: kind === "rage" ? "Bursts" : "Clicks", id: "count", num: true, get: (e) => f.int(e.count), value: (e) => e.count },
    ],
    list,
    { key: (e) => e.selector, empty: kind === "rage" ? "No rage clicks in this period." : "No dead clicks in this period." },
  );
}

// clickMap draws the page at the band's width, scaled to the card, with the click grid over
// it: each cell's opacity is its share of the busiest cell's clicks. The page is its DOM
// snapshot when snap has one, else the live page in a sandboxed iframe. It returns the card
// and mount(), called once the card is in the document, which rebuilds the snapshot (the
// player chunk is loaded for it) and resolves to whether the snapshot is shown: when it
// cannot be, the live preview takes its place.
function clickMap(d, origin, snap, ctx) {
  const width = WIDTHS[d.band] || 1280;
  const g = d.grid;
  const rows = Math.max(0, ...g.cells.map((c) => c[0] + 1));
  const height = Math.max(MIN_HEIGHT, rows * g.row_px);
  const max = Math.max(1, ...g.cells.map((c) => c[2]));
  const stage = h("div", { class: "heat-stage", id: "heat-stage", "data-width": width, "data-height": height });
  stage.style.width = width + "px";
  stage.style.height = height + "px";
  const src = origin + d.page;
  const liveFrame = () => {
    const frame = h("iframe", { src, title: "Preview of " + d.page, sandbox: "", scrolling: "no", referrerpolicy: "no-referrer", tabindex: "-1" });
    frame.style.width = width + "px";
    frame.style.height = height + "px";
    return frame;
  };
  const page = h("div", { class: "heat-page" });
  const overlay = h("div", { class: "heat-overlay", "aria-hidden": "true" });
  for (const [row, col, n] of g.cells) {
    const cell = h("span", { class: "heat-cell", "data-row": row, "data-col": col, "data-count": n, title: `${n} clicks` });
    cell.style.left = (col / g.cols) * 100 + "%";
    cell.style.width = 100 / g.cols + "%";
    cell.style.top = row * g.row_px + "px";
    cell.style.height = g.row_px + "px";
    cell.style.opacity = String(0.15 + 0.7 * (n / max));
    overlay.append(cell);
  }
  stage.append(page, overlay);
  const box = h("div", { class: "heat-frame" }, stage);
  // Scale the stage to the card's width once it is laid out, and again when it resizes.
  const fit = () => {
    const s = Math.min(1, box.clientWidth / width || 1);
    stage.style.transform = `scale(${s})`;
    stage.dataset.scale = String(s);
    box.style.height = height * s + "px";
  };
  new ResizeObserver(fit).observe(box);
  const hint = h("p", { class: "hint", id: "heat-source" });
  const showLive = (why) => {
    stage.dataset.source = "live";
    page.replaceChildren(liveFrame());
    hint.replaceChildren("The preview is the page as it is now, without its scripts; the clicks were made on the page as it was." + (why ? ` (${why})` : ""));
  };
  const mount = async () => {
    const s = snap.snapshot;
    if (!s) {
      showLive(snap.error ? "The page's snapshot could not be read: " + snap.error.message : "");
      return false;
    }
    try {
      const { renderSnapshot } = await loadPlayer();
      renderSnapshot(page, s, width, height);
    } catch (e) {
      if (e.name === "AbortError") throw e;
      page.replaceChildren();
      showLive("The page's snapshot could not be shown: " + (e.message || e));
      return false;
    }
    stage.dataset.source = "snapshot";
    const when = Number(s.timestamp) ? " on " + f.time(Number(s.timestamp)) : "";
    hint.replaceChildren(
      `The page as captured${when}, without its scripts. `,
      h("a", { href: "#", id: "heat-live", onclick: (e) => (e.preventDefault(), ctx.set({ preview: "live" })) }, "Show the page as it is now"),
    );
    return true;
  };
  const c = card("Click map", h("p", { class: "lede" }, `${d.page} at ${width} px · ${f.int(d.clicks)} clicks in cells of ${100 / g.cols}% × ${g.row_px} px`), box, hint);
  return { card: c, mount };
}

// scrollMap draws, for every depth, the share of the captured pageviews that scrolled to it.
function scrollMap(d) {
  if (!d.scroll.length) return card("Scroll map", h("p", { class: "empty" }, "No scroll depth reported in this period."));
  const bars = d.scroll
    .filter((s) => s.depth % 10 === 0)
    .map((s) => {
      const bar = h("span", { class: "bar" });
      bar.style.width = s.share * 100 + "%";
      return h("li", { "data-depth": s.depth, "data-share": s.share }, h("span", { class: "depth" }, s.depth + "%"), h("span", { class: "track" }, bar), h("span", { class: "num" }, f.pct(s.share)));
    });
  return card("Scroll map", h("p", { class: "lede" }, `Share of ${f.int(d.pageviews)} captured pageviews reaching each depth`), h("ol", { class: "scroll-map" }, bars));
}

// previewOrigin is the first origin the site is configured with, else the dashboard's own.
async function previewOrigin(ctx, site) {
  try {
    const r = await getJSON("/api/v1/sites", { signal: ctx.signal });
    const s = (r.sites || []).find((x) => x.id === site) || (r.sites || []).find((x) => (x.origins || []).some((o) => o !== "*"));
    const o = s && (s.origins || []).find((x) => x !== "*");
    if (o && site) return o;
  } catch {
    // the preview falls back to the dashboard's origin
  }
  return location.origin;
}

// whoOptions lists the visitor filters: every visitor, each channel, and the segments, steps
// and experiment arms the rules define.
function whoOptions(rules) {
  const opts = [["", "All visitors"]];
  for (const c of CHANNELS) opts.push(["channel:" + c, "Channel: " + c]);
  for (const s of rules.scopes || []) if (s.kind === "segment") opts.push(["segment:" + s.id, "Segment: " + f.label(s.id)]);
  for (const s of rules.steps || []) opts.push(["step:" + s.id, "Reached step: " + f.label(s.id)]);
  for (const x of rules.experiments || []) for (const v of x.variants || []) opts.push([`arm:${x.id}:${v}`, `Arm: ${x.id} · ${v}`]);
  return opts;
}
