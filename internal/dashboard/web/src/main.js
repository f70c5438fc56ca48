// Pathlight's dashboard: the shell (navigation, date range and site pickers, theme, sign-out)
// and the router that renders one view at a time from the URL fragment.

import { h, clear, notice } from "./lib/dom.js";
import { parse, format, VIEWS, RANGES, period, isoDay } from "./lib/state.js";
import { Charts } from "./lib/charts.js";
import { request, getJSON } from "./lib/api.js";
import { initTheme, themeButton } from "./lib/theme.js";

import overview from "./views/overview.js";
import journey from "./views/journey.js";
import funnels from "./views/funnels.js";
import attribution from "./views/attribution.js";
import health from "./views/health.js";
import surveys from "./views/surveys.js";
import experiments from "./views/experiments.js";
import rules from "./views/rules.js";
import automations from "./views/automations.js";
import visitor from "./views/visitor.js";
import live from "./views/live.js";
import heatmaps from "./views/heatmaps.js";
import replays from "./views/replays.js";

const renderers = { overview, journey, funnels, attribution, health, surveys, experiments, heatmaps, replays, rules, automations, visitor, live };

// Settings every view shares; a view's own settings are dropped when another view is opened.
const GLOBAL = ["range", "from", "to", "site"];

let state = parse(location.hash);
let current = null; // {charts, abort, stop} of the view on screen
let renders = 0;

const main = h("main", { id: "view", tabindex: "-1" });
const nav = h("nav", { class: "views", "aria-label": "Views" });
const rangeSelect = h("select", { id: "range", "aria-label": "Date range", onchange: (e) => setRange(e.target.value) }, RANGES.map(([v, l]) => h("option", { value: v }, l)));
const fromInput = h("input", { type: "date", id: "from", "aria-label": "From", onchange: () => setCustom() });
const toInput = h("input", { type: "date", id: "to", "aria-label": "To", onchange: () => setCustom() });
const custom = h("span", { class: "custom" }, fromInput, h("span", { "aria-hidden": "true" }, "–"), toInput);
const siteList = h("datalist", { id: "sites" });
const siteInput = h("input", { type: "search", id: "site", list: "sites", placeholder: "All sites", "aria-label": "Site", autocomplete: "off", onchange: (e) => go({ site: e.target.value.trim() }) });
const periodLabel = h("span", { class: "period", id: "period" });

function shell() {
  const signOut = h("button", { type: "button", class: "ghost", onclick: signout }, "Sign out");
  const header = h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "#/overview" }, h("img", { src: "/dashboard/favicon.svg", alt: "", width: "22", height: "22" }), "Pathlight"),
    nav,
    h("div", { class: "actions" }, themeButton(() => rerender()), signOut),
  );
  const toolbar = h(
    "div",
    { class: "toolbar", role: "search", "aria-label": "Period and site" },
    h("label", { class: "field" }, h("span", null, "Period"), rangeSelect),
    custom,
    h("label", { class: "field" }, h("span", null, "Site"), siteInput, siteList),
    periodLabel,
  );
  document.body.append(header, toolbar, main);
  window.addEventListener("resize", fitNav);
  document.fonts?.ready.then(fitNav);
}

/**
 * fitNav keeps every view in sight: when the views do not fit on one line between the brand
 * and the actions, they move to a line of their own under them, where they wrap.
 */
function fitNav() {
  const top = nav.parentElement;
  top.classList.remove("stacked");
  top.classList.toggle("stacked", nav.scrollWidth > nav.clientWidth + 1);
}

function syncShell() {
  const keep = Object.fromEntries(GLOBAL.filter((k) => state.params[k]).map((k) => [k, state.params[k]]));
  clear(nav);
  for (const [v, label] of VIEWS) {
    nav.append(h("a", { href: format({ view: v, params: keep }), "aria-current": v === state.view ? "page" : null, "data-view": v }, label));
  }
  rangeSelect.value = state.params.range;
  custom.hidden = state.params.range !== "custom";
  const p = period(state.params);
  fromInput.value = state.params.from || isoDay(p.from);
  toInput.value = state.params.to || isoDay(p.to - 86400000);
  siteInput.value = state.params.site || "";
  periodLabel.textContent = `${isoDay(p.from)} to ${isoDay(p.to - 86400000)} (UTC)`;
  fitNav();
  document.title = VIEWS.find(([v]) => v === state.view)[1] + " · Pathlight";
}

function setRange(r) {
  if (r === "custom") {
    const p = period(state.params);
    go({ range: "custom", from: isoDay(p.from), to: isoDay(p.to - 86400000) });
  } else go({ range: r, from: "", to: "" });
}

function setCustom() {
  if (fromInput.value && toInput.value && fromInput.value <= toInput.value) go({ range: "custom", from: fromInput.value, to: toInput.value });
}

/** go changes settings of the current view (or opens another view) through the URL. */
function go(changes, view = state.view) {
  const params = view === state.view ? { ...state.params } : Object.fromEntries(GLOBAL.filter((k) => state.params[k]).map((k) => [k, state.params[k]]));
  for (const [k, v] of Object.entries(changes)) {
    if (v == null || v === "") delete params[k];
    else params[k] = v;
  }
  const next = format({ view, params });
  if (next !== location.hash) location.hash = next;
}

/**
 * replace records settings in the URL without rendering again: a selection inside a view
 * (a clicked step) that a shared link should keep.
 */
function replace(changes) {
  for (const [k, v] of Object.entries(changes)) {
    if (v == null || v === "") delete state.params[k];
    else state.params[k] = v;
  }
  history.replaceState(null, "", format(state));
}

function stopCurrent() {
  if (!current) return;
  current.abort.abort();
  for (const f of current.stops) f();
  current.charts.dispose();
  current = null;
}

async function render() {
  stopCurrent();
  syncShell();
  const n = ++renders;
  const charts = new Charts();
  const abort = new AbortController();
  const stops = [];
  current = { charts, abort, stops };
  const p = period(state.params);
  clear(main);
  main.dataset.view = state.view;
  main.dataset.from = String(p.from);
  main.dataset.to = String(p.to);
  main.dataset.ready = "";
  main.setAttribute("aria-busy", "true");
  const ctx = {
    params: { ...state.params },
    main,
    charts,
    signal: abort.signal,
    set: (changes) => go(changes),
    replace: (changes) => replace(changes),
    open: (view, changes) => go(changes, view),
    onStop: (f) => stops.push(f),
    reload: () => render(),
    live: () => n === renders,
  };
  const started = performance.now();
  try {
    await renderers[state.view](ctx);
  } catch (e) {
    if (e.name === "AbortError" || n !== renders) return;
    clear(main).append(notice("error", h("strong", null, "This view could not be loaded. "), e.message || String(e)));
    console.warn("pathlight dashboard:", e);
  }
  if (n !== renders) return;
  main.dataset.ready = "1";
  main.dataset.ms = String(Math.round(performance.now() - started));
  main.removeAttribute("aria-busy");
}

// rerender draws the view again in place (after a theme change): charts take new colours.
function rerender() {
  render();
}

async function signout() {
  try {
    await request("/dashboard/logout", { method: "POST", body: {} });
  } finally {
    location.assign("/dashboard/login");
  }
}

// sites fills the site picker's suggestions with the sites of the server configuration.
async function sites() {
  try {
    const r = await getJSON("/api/v1/sites");
    const list = (r.sites || []).filter((s) => s.id).sort((a, b) => a.id.localeCompare(b.id));
    clear(siteList).append(...list.map((s) => h("option", { value: s.id, label: [s.id, ...(s.origins || [])].join(" · ") })));
  } catch {
    // suggestions only: the picker still takes any site id
  }
}

initTheme();
shell();
window.addEventListener("hashchange", () => {
  state = parse(location.hash);
  render();
});
render();
sites();
