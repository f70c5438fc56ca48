// DOM building without HTML strings. Every text, wherever it comes from, ends up in a text
// node or an attribute value set through the DOM, never parsed as markup: a survey answer of
// "<script>" shows as those characters.

/**
 * h creates an element. attrs: class, text, data-*, aria-*, on<event> handlers, and other
 * attributes or properties; children: nodes, strings (as text), arrays, null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = String(v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "value" || k === "checked" || k === "selected" || k === "disabled" || k === "hidden") el[k] = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

/** append adds children (nodes, strings as text, arrays; null and false skipped) to el. */
export function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

/** clear removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/**
 * table builds a table. columns: [{label, get(row) → text | Node, num (right-aligned),
 * value(row) → raw number kept in data-value}]; rows: the data. key(row) names a row in
 * data-key, for tests and links.
 */
export function table(columns, rows, { key, caption, empty = "No data in this period." } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  const head = h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)));
  const body = rows.map((r) =>
    h(
      "tr",
      { "data-key": key ? key(r) : null },
      columns.map((c) =>
        h(
          "td",
          {
            class: c.num ? "num" : c.cls || null,
            "data-col": c.id || null,
            "data-value": c.value ? numAttr(c.value(r)) : null,
          },
          c.get(r),
        ),
      ),
    ),
  );
  return h("div", { class: "table-wrap" }, h("table", null, caption ? h("caption", null, caption) : null, h("thead", null, head), h("tbody", null, body)));
}

function numAttr(v) {
  return v == null || Number.isNaN(v) ? "" : String(v);
}

/** card wraps content in a titled panel. */
export function card(title, ...content) {
  return h("section", { class: "card" }, title ? h("h2", null, title) : null, ...content);
}

/** select builds a <select> from [value, label] pairs. */
export function select(label, options, value, onchange, attrs = {}) {
  const s = h(
    "select",
    { onchange: (e) => onchange(e.target.value), ...attrs },
    options.map(([v, l]) => h("option", { value: v, selected: v === value }, l)),
  );
  return h("label", { class: "field" }, h("span", null, label), s);
}

/** notice is a message panel: kind "info", "warn" or "error". */
export function notice(kind, ...content) {
  return h("div", { class: "notice " + kind, role: kind === "info" ? "status" : "alert" }, ...content);
}
