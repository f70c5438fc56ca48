// Pathlight prompt UI: the survey and chat prompts, loaded by pl.js only when a prompt is armed
// (or when the server refused the page's hits: the console warning lives here too, so that no
// page pays for its words until it needs them).
// Each prompt renders in its own <pathlight-prompt> element with a shadow root, so host-page CSS
// cannot break it and it cannot break the host page. Accessible: a labelled dialog (modal for
// surveys), focus moved in and restored, Esc dismisses, Tab stays inside a survey, and every
// control is a native button, checkbox or textarea.

import css from "./ui.css";

/**
 * Shows prompt p (a decision from the server) and calls report(action, answer) with "shown",
 * then once with "answered" and the answer, or "dismissed". A multiple_choice answer is the
 * chosen choices joined by "|" in the order the prompt lists them (the form the server's rules
 * check); rating and nps answers are the number as text; a chat prompt whose action the visitor
 * took is answered "accepted".
 */
function show(p, report) {
  const d = document;
  const prev = d.activeElement;
  const chat = p.kind == "chat";
  const host = d.createElement("pathlight-prompt");
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    css +
    '</style><div class="w ' +
    (chat ? "c" : "m") +
    '"><div class=b role=dialog tabindex=-1 aria-labelledby=q' +
    (chat ? "" : " aria-modal=true") +
    "><button class=x type=button aria-label=Close>×</button><p id=q></p><div role=group aria-labelledby=q></div></div></div>";
  const wrap = root.lastChild;
  const box = wrap.firstChild;
  const [x, q, group] = box.children;
  const add = (tag, props, to) => (to || box).appendChild(Object.assign(d.createElement(tag), props));
  const button = (text, f, cls, to) => add("button", { type: "button", textContent: text, className: cls || "", onclick: f }, to);
  const controls = () => root.querySelectorAll("button,input,textarea");
  const send = p.submit || "Send";
  let over;

  const end = () => {
    host.remove();
    if (prev && prev.focus) prev.focus();
  };
  const close = (action, answer) => {
    if (over) return;
    over = 1;
    d.removeEventListener("keydown", key, true);
    report(action, answer);
    if (action != "answered" || chat) return end();
    box.innerHTML = "<p role=status></p>";
    box.firstChild.textContent = p.thanks || "Thank you!";
    box.focus();
    setTimeout(end, 1600);
  };
  const key = (e) => {
    if (e.key == "Escape") close("dismissed");
    if (e.key == "Tab" && !chat) {
      // Keep focus inside the modal survey.
      const c = controls();
      const a = root.activeElement;
      const edge = e.shiftKey ? c[0] : c[c.length - 1];
      if (!a || a == edge) e.preventDefault(), c[e.shiftKey ? c.length - 1 : 0].focus();
    }
  };

  x.onclick = () => close("dismissed");
  q.textContent = chat ? p.message : p.question;
  const t = p.type;
  const choices = p.choices || [];

  if (chat) {
    button(p.cta || "Chat now", () => {
      close("answered", "accepted");
      act(p);
    }, "p");
  } else if (t == "rating" || t == "nps") {
    const max = t == "nps" ? 10 : 5;
    group.className = t;
    for (let i = t == "nps" ? 0 : 1; i <= max; i++)
      button("" + i, () => close("answered", "" + i), "", group).setAttribute("aria-label", i + " of " + max);
    if (t == "nps") add("div", { className: "s", innerHTML: "<span>Not likely</span><span>Very likely</span>" });
  } else if (t == "text") {
    group.innerHTML = "<textarea maxlength=500 aria-labelledby=q></textarea>";
    button(send, () => {
      const v = group.firstChild.value.trim();
      if (v) close("answered", v);
    }, "p");
  } else if (t == "multiple_choice") {
    const boxes = choices.map((c) => {
      const l = add("label", { innerHTML: "<input type=checkbox>" }, group);
      l.append(c);
      return l.firstChild;
    });
    button(send, () => {
      const v = choices.filter((c, i) => boxes[i].checked);
      if (v.length) close("answered", v.join("|"));
    }, "p");
  } else {
    choices.forEach((c) => button(c, () => close("answered", c), "", group));
  }

  // A click on the backdrop dismisses. (The handler must not return false: that would cancel
  // every click inside, checkboxes included.)
  wrap.onclick = (e) => {
    if (e.target == wrap) close("dismissed");
  };
  d.addEventListener("keydown", key, true);
  d.body.appendChild(host);
  (controls()[1] || box).focus();
  report("shown");
}

// act runs a chat prompt's action: open its URL (http or https only) in a new tab, and/or
// dispatch its DOM event for the site's chat widget, with the prompt in the event's detail.
function act(p) {
  const a = p.action || {};
  if (a.url) {
    const u = new URL(a.url, location.href);
    if (/^https?:$/.test(u.protocol)) open(u.href, "_blank", "noopener");
  }
  if (a.event) document.dispatchEvent(new CustomEvent(a.event, { bubbles: true, detail: { prompt: p.id, message: p.message } }));
}

// warn reports the page's first refused hit in the console, for the site's developer: the
// server's error body (its reason code and message), or without one a hint. pl.js calls it
// without a body when a request to the server at origin failed without a reply the page may
// read; if the server answers a plain request (which needs no CORS) for its health, which it
// always serves and nobody caches, it refused the page's origin, and if it does not, it is down
// or the network is, which is no refusal.
let warned = 0;
const warn = (origin, err) => {
  const say = () => warned++ || console.warn("Pathlight: hits refused:", err || "CORS: is this page's origin in --sites?");
  err ? say() : fetch(origin + "/healthz", { mode: "no-cors" }).then(say, () => 0);
};

if (window.pathlight) Object.assign(window.pathlight, { ui: show, warn });
