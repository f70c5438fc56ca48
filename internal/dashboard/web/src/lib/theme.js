// Light and dark themes: the system's choice by default (prefers-color-scheme), or the one
// picked with the toggle, remembered in this browser.

import { h } from "./dom.js";

const KEY = "pathlight-theme";
const ORDER = ["auto", "dark", "light"];
const LABEL = { auto: "◐ Auto", dark: "☾ Dark", light: "☀ Light" };
const SAYS = { auto: "Theme: as the system", dark: "Theme: dark", light: "Theme: light" };

function stored() {
  try {
    const t = localStorage.getItem(KEY);
    return ORDER.includes(t) ? t : "auto";
  } catch {
    return "auto";
  }
}

function apply(t) {
  if (t === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

/** initTheme applies the remembered theme. */
export function initTheme() {
  apply(stored());
}

/** themeButton returns the toggle; onchange runs after the theme changed. */
export function themeButton(onchange) {
  const b = h("button", { type: "button", class: "ghost", id: "theme" });
  const show = (t) => {
    b.textContent = LABEL[t];
    b.setAttribute("aria-label", SAYS[t] + " (change)");
    b.title = SAYS[t];
  };
  show(stored());
  b.addEventListener("click", () => {
    const t = ORDER[(ORDER.indexOf(stored()) + 1) % ORDER.length];
    try {
      localStorage.setItem(KEY, t);
    } catch {
      // private mode: the choice lasts for this page only
    }
    apply(t);
    show(t);
    onchange();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => stored() === "auto" && onchange());
  return b;
}
