// The demo shop's forms hold personal data (a name, an email, an address). The shop is static
// pages, so nothing would receive a POST, and a GET form puts its fields into the next page's
// query, which every tracked URL and referrer would carry. So the fields have no name, and a
// form goes on to the page of its action by script, without a query. (Pathlight's snippet has
// already seen the submit: its data-pl-event listener runs first.)
document.addEventListener("submit", function (e) {
  e.preventDefault();
  location.href = e.target.action;
});

// The demo shop's stand-in for a live chat widget: Pathlight's checkout chat prompt dispatches
// the "open-chat" event its rules configure, and this opens a (pretend) chat window.
document.addEventListener("open-chat", function (e) {
  if (document.getElementById("chat")) return;
  var box = document.createElement("aside");
  box.id = "chat";
  box.setAttribute("aria-label", "Chat");
  box.innerHTML = "<strong>Trailhead support</strong><p>Hi! This is where a real chat widget would open. (Prompt: <code></code>)</p><button class=\"btn ghost\" type=\"button\">Close</button>";
  box.querySelector("code").textContent = (e.detail && e.detail.prompt) || "";
  box.querySelector("button").onclick = function () { box.remove(); };
  document.body.appendChild(box);
});
