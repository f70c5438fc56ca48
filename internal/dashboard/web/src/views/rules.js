// Rules: the rule set in force, its version and load time, the errors of the last failed
// reload, and each segment's current reach.

import { h, card, table, notice } from "../lib/dom.js";
import { getJSON, request } from "../lib/api.js";
import * as f from "../lib/format.js";

export default async function rules(ctx) {
  const [st, reach] = await Promise.all([
    getJSON("/api/v1/rules", { signal: ctx.signal }),
    getJSON("/api/v1/rules/reach", { signal: ctx.signal }).catch((e) => (e.name === "AbortError" ? Promise.reject(e) : { error: e })),
  ]);
  const failed = st.failed_at && !st.failed_at.startsWith("0001-");
  const reload = h("button", { type: "button", id: "reload" }, "Reload rules from disk");
  const result = h("span", { class: "muted", "aria-live": "polite" });
  reload.addEventListener("click", async () => {
    reload.disabled = true;
    result.textContent = "Reloading…";
    try {
      await request("/api/v1/rules/reload", { method: "POST" });
      result.textContent = "Reloaded.";
    } catch (e) {
      result.textContent = e.status === 422 ? "The rules on disk are invalid; the rule set in force is unchanged." : "Reload failed: " + e.message;
    }
    setTimeout(() => ctx.live() && ctx.reload(), 800);
  });
  ctx.main.append(
    h(
      "div",
      { class: "kpis" },
      [
        ["Version", h("code", null, st.version || f.dash)],
        ["Loaded", f.time(st.loaded_at)],
        ["Reloads", f.int(st.reloads)],
        ["Failed reloads", f.int(st.reload_errs)],
      ].map(([l, v]) => h("div", { class: "kpi" }, h("span", { class: "label" }, l), h("span", { class: "value small" }, v))),
    ),
    failed
      ? notice(
          "error",
          h("strong", null, `The last reload failed (${f.time(st.failed_at)}); the rules loaded before stay in force.`),
          h("ul", { class: "errors" }, (st.errors || []).map((e) => h("li", null, h("code", null, e)))),
        )
      : notice("info", "The last reload succeeded."),
    h(
      "div",
      { class: "grid2" },
      card(
        "Segments: who is in them now",
        reach.error
          ? notice("warn", "Segment reach could not be loaded: " + reach.error.message)
          : table(
              [
                { label: "Segment", get: (s) => h("code", null, s.id) },
                { label: "Visitors", num: true, get: (s) => f.int(s.visitors), value: (s) => s.visitors },
                { label: "Share", cls: "barcell", get: (s) => bar(s.share), value: (s) => s.share },
              ],
              (reach.segments || []).slice().sort((a, b) => b.visitors - a.visitors),
              { key: (s) => s.id, empty: "The rules define no segment." },
            ),
      ),
      card(
        "Files",
        h("p", { class: "hint" }, "From ", h("code", null, st.dir || "")),
        h("ul", { class: "files" }, (st.files || []).map((x) => h("li", null, h("code", null, x)))),
        h("p", null, reload, " ", result),
      ),
    ),
  );
}

function bar(share) {
  const w = h("span", { class: "bar" }, h("span", null));
  w.firstChild.style.width = Math.max(0, Math.min(100, (share || 0) * 100)) + "%";
  return h("span", { class: "barwrap" }, w, h("span", null, f.pct(share)));
}
