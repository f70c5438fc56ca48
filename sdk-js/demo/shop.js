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
