// The dashboard's state lives in the URL fragment, so that a view can be shared or
// bookmarked: #/<view>?range=30d&site=shop&<the view's own settings>.

export const VIEWS = [
  ["overview", "Overview"],
  ["journey", "Journey map"],
  ["funnels", "Funnels"],
  ["attribution", "Attribution"],
  ["health", "Step health"],
  ["surveys", "Surveys"],
  ["experiments", "Experiments"],
  ["heatmaps", "Heatmaps"],
  ["replays", "Replays"],
  ["rules", "Rules"],
  ["automations", "Automations"],
  ["visitor", "Visitor"],
  ["live", "Live"],
];

export const RANGES = [
  ["7d", "Last 7 days"],
  ["14d", "Last 14 days"],
  ["30d", "Last 30 days"],
  ["90d", "Last 90 days"],
  ["custom", "Custom…"],
];

const DAY = 86400000;
const isDate = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s || "");

/** parse reads the state from a fragment. */
export function parse(hash) {
  const m = /^#\/([a-z]+)(?:\?(.*))?$/.exec(hash || "");
  const view = m && VIEWS.some(([v]) => v === m[1]) ? m[1] : "overview";
  const params = Object.fromEntries(new URLSearchParams(m ? m[2] || "" : ""));
  if (!RANGES.some(([r]) => r === params.range)) params.range = isDate(params.from) && isDate(params.to) ? "custom" : "30d";
  if (params.range === "custom" && !(isDate(params.from) && isDate(params.to))) params.range = "30d";
  if (params.range !== "custom") {
    delete params.from;
    delete params.to;
  }
  return { view, params };
}

/** format writes a state as a fragment. Empty settings are left out. */
export function format({ view, params }) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== "") q.set(k, v);
  const s = q.toString();
  return "#/" + view + (s ? "?" + s : "");
}

/**
 * period resolves the range to [from, to) in Unix ms, whole UTC days: "7d" is the last seven
 * days including today.
 */
export function period(params, now = Date.now()) {
  if (params.range === "custom") {
    const from = Date.parse(params.from + "T00:00:00Z");
    const to = Date.parse(params.to + "T00:00:00Z") + DAY;
    if (from < to) return { from, to };
  }
  const days = parseInt(params.range, 10) || 30;
  const to = Math.floor(now / DAY) * DAY + DAY;
  return { from: to - days * DAY, to };
}

/** isoDay formats Unix ms as its UTC date. */
export const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
