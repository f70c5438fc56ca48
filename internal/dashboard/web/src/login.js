// The sign-in page: keeps the view the link pointed to (the URL fragment, which the browser
// never sends) so that signing in opens it, and applies the theme picked in the dashboard.

try {
  const t = localStorage.getItem("pathlight-theme");
  if (t === "dark" || t === "light") document.documentElement.dataset.theme = t;
} catch {
  // no storage: the system's theme
}
// A refused sign-in comes back without the fragment: it is kept for the tab meanwhile.
document.addEventListener("DOMContentLoaded", () => {
  const next = document.querySelector('input[name="next"]');
  let view = location.hash.startsWith("#/") ? location.hash : "";
  try {
    if (view) sessionStorage.setItem("pathlight-next", view);
    else view = sessionStorage.getItem("pathlight-next") || "";
  } catch {
    // no storage: the dashboard opens on its first view
  }
  if (next) next.value = view;
});
