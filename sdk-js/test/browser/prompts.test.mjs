// Survey and chat prompts in a real browser against the real server: triggers, the UI, what the
// server stores, and the accessibility of the dialog. Screenshots go to test/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { setup, until, artifacts } from "./harness.mjs";

let env;
before(async () => (env = await setup()));
after(async () => await env?.stop());

const vidOf = (ctx) => until("the pl_vid cookie", () => env.vid(ctx));
const prompt = (page) => page.locator("pathlight-prompt");

// replies collects the decisions of every /v1/hit reply a page gets.
function replies(page) {
  const got = [];
  page.on("response", async (r) => {
    if (r.url().endsWith("/v1/hit") && r.ok()) got.push((await r.json().catch(() => ({}))).decisions || {});
  });
  return got;
}

// promptState waits until the server's state for the visitor's prompt satisfies ok.
const promptState = (vid, id, ok) =>
  until(`prompt ${id}'s state`, async () => {
    const v = await env.visitor(vid);
    const p = v && v.prompts[id];
    return p && ok(p) && p;
  });

// armed waits until the prompt UI has loaded: the snippet loads it when the server arms a prompt.
const armed = (page) => page.waitForFunction(() => window.pathlight && window.pathlight.ui, null, { timeout: 10000 });

test("three pricing views, then exit intent shows the survey; the answer is stored", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = replies(page);
  for (let i = 0; i < 3; i++) await page.goto(env.base + "/pricing");
  const vid = await vidOf(ctx);
  await armed(page);
  const offered = got.at(-1).prompts || [];
  assert.deepEqual(offered.map((p) => p.id), ["pricing_exit"], `prompts of the third view = ${JSON.stringify(offered)}`);
  await page.waitForSelector("#offer"); // the hesitator's slot variant came with it
  assert.equal(await prompt(page).count(), 0, "the survey showed before any exit intent");

  // The pointer leaves the window through the top.
  await page.mouse.move(640, 300);
  await page.mouse.move(640, 5, { steps: 5 });
  await page.mouse.move(640, -20);
  const dialog = prompt(page).getByRole("dialog");
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute("aria-modal"), "true");
  assert.equal(await dialog.locator("#q").textContent(), "What is stopping you from signing up today?");
  await page.screenshot({ path: path.join(artifacts, "survey.png") });
  await promptState(vid, "pricing_exit", (p) => p.shown == 1);

  await dialog.getByRole("button", { name: "I need to ask my team" }).click();
  await prompt(page).getByText("Thank you!").waitFor();
  await page.screenshot({ path: path.join(artifacts, "survey-thanks.png") });
  await prompt(page).waitFor({ state: "detached" });
  const st = await promptState(vid, "pricing_exit", (p) => p.answered == 1);
  assert.equal(st.dismissed, 0, `dismissed = ${st.dismissed}; want 0`);
  const answers = (await env.events()).filter((e) => e.vid == vid && e.type == "prompt" && e.action == "answered");
  assert.equal(answers.length, 1, `answered events = ${answers.length}; want 1`);
  assert.equal(answers[0].answer, "I need to ask my team", `answer = ${answers[0].answer}`);

  // Answered once: a fourth view offers it no more.
  await page.goto(env.base + "/pricing");
  await until("the fourth view's reply", () => got.length >= 4);
  assert.deepEqual(got[3].prompts || [], [], `prompts after answering = ${JSON.stringify(got[3].prompts)}; want none`);
});

test("a survey with the default trigger shows at once", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = replies(page);
  await page.goto(env.base + "/t/now.html");
  const vid = await vidOf(ctx);
  await until("the page's reply", () => got.length >= 1);
  const offered = got[0].prompts || [];
  assert.deepEqual(offered.map((p) => p.trigger), [{ type: "after" }], `triggers offered = ${JSON.stringify(offered)}; want the default, without seconds`);
  // At once: the first tick after the UI loads, well within 3 s.
  const dialog = prompt(page).getByRole("dialog");
  await dialog.waitFor({ timeout: 3000 });
  await dialog.getByRole("textbox").fill("Faster shipping");
  await dialog.getByRole("button", { name: "Send" }).click();
  await promptState(vid, "at_once", (p) => p.shown == 1 && p.answered == 1);
});

test("on a touch device, a fast scroll up is the exit intent", async () => {
  const ctx = await env.context({ viewport: { width: 390, height: 500 }, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  for (let i = 0; i < 3; i++) await page.goto(env.base + "/pricing");
  await armed(page);
  // Down the page, a pause, then a flick back up.
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.waitForTimeout(300);
  assert.equal(await prompt(page).count(), 0, "the survey showed on a scroll down");
  await page.evaluate(() => window.scrollBy(0, -400));
  await prompt(page).getByRole("dialog").waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(artifacts, "survey-mobile.png") });
});

test("idle on checkout shows the chat prompt, whose action opens the site's chat", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/checkout");
  const vid = await vidOf(ctx);
  const dialog = prompt(page).getByRole("dialog");
  await dialog.waitFor({ timeout: 15000 }); // idle: 2s
  assert.equal(await dialog.getAttribute("aria-modal"), null, "the chat prompt should not be modal");
  assert.equal(await dialog.locator("#q").textContent(), "Need a hand with checkout?");
  await page.screenshot({ path: path.join(artifacts, "chat.png") });
  await dialog.getByRole("button", { name: "Chat now" }).click();
  // The action is a DOM event the demo's pretend chat widget listens to.
  await page.locator("#chat").waitFor();
  assert.equal(await page.locator("#chat code").textContent(), "checkout_help");
  assert.equal(await prompt(page).count(), 0, "the prompt stayed open after its action");
  await promptState(vid, "checkout_help", (p) => p.shown == 1 && p.answered == 1);
});

test("a dismissed prompt does not come back", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = replies(page);
  await page.goto(env.base + "/checkout");
  const vid = await vidOf(ctx);
  await prompt(page).getByRole("dialog").waitFor({ timeout: 15000 });
  await page.keyboard.press("Escape");
  await prompt(page).waitFor({ state: "detached" });
  await promptState(vid, "checkout_help", (p) => p.dismissed == 1);

  const before = got.length;
  await page.goto(env.base + "/checkout");
  await until("the reload's reply", () => got.length > before);
  assert.deepEqual(got.at(-1).prompts || [], [], `prompts after dismissal = ${JSON.stringify(got.at(-1).prompts)}; want none`);
  // And nothing shows after the idle time either (2 s, with margin).
  await page.waitForTimeout(3500);
  assert.equal(await prompt(page).count(), 0, "the dismissed prompt came back");
  const st = await promptState(vid, "checkout_help", () => true);
  assert.equal(st.shown, 1, `shown = ${st.shown}; want 1`);
});

test("the prompt dialog is keyboard operable: focus moves in, stays in, and returns", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  for (let i = 0; i < 3; i++) await page.goto(env.base + "/pricing");
  await armed(page);
  await page.focus("text=Join Summit");
  await page.mouse.move(640, 300);
  await page.mouse.move(640, -20, { steps: 4 });
  await prompt(page).getByRole("dialog").waitFor();
  const focused = () => page.evaluate(() => {
    const host = document.querySelector("pathlight-prompt");
    const a = host && host.shadowRoot.activeElement;
    return a ? a.getAttribute("aria-label") || a.textContent : document.activeElement.textContent.trim();
  });
  assert.equal(await focused(), "Price", "focus did not move to the first answer");
  // Tab cycles inside the dialog: Close, four choices, and round again.
  const seen = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    seen.push(await focused());
  }
  assert.deepEqual(seen, ["A missing feature", "I need to ask my team", "Just looking", "Close", "Price", "A missing feature"]);
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Shift+Tab");
  assert.equal(await focused(), "Close", "Shift+Tab did not wrap to the last control");
  await page.keyboard.press("Escape");
  await prompt(page).waitFor({ state: "detached" });
  assert.equal(await focused(), "Join Summit", "focus was not restored to where it was");
});

test("an event trigger on an SPA route shows a rating survey", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/spa");
  const vid = await vidOf(ctx);
  await page.evaluate(() => go("/spa/rate", "Rate"));
  await armed(page);
  await page.evaluate(() => window.pathlight("event", "rate_me"));
  const dialog = prompt(page).getByRole("dialog");
  await dialog.waitFor();
  await page.screenshot({ path: path.join(artifacts, "rating.png") });
  await dialog.getByRole("button", { name: "4 of 5" }).press("Enter");
  await promptState(vid, "spa_rating", (p) => p.answered == 1);
  const a = (await env.events()).find((e) => e.vid == vid && e.type == "prompt" && e.action == "answered");
  assert.equal(a && a.answer, "4", `rating answer = ${a && a.answer}; want "4"`);
});

test("every survey type renders, answers in the documented form, and is isolated and themable", async () => {
  const ctx = await env.context({ viewport: { width: 390, height: 740 }, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  await page.goto(env.base + "/t/blank.html");
  await page.waitForFunction(() => window.pathlight && window.pathlight.v);
  await page.addScriptTag({ url: env.api + "/pl-ui.js" });
  // show renders prompt p and resolves with what it reported once it is answered or dismissed.
  const show = (p) =>
    page.evaluate((p) => {
      window.__reports = [];
      window.__done = new Promise((resolve) =>
        window.pathlight.ui(p, (action, answer) => {
          window.__reports.push([action, answer]);
          if (action != "shown") resolve(window.__reports);
        }),
      );
    }, p);
  const done = () => page.evaluate(() => window.__done);
  const base = { kind: "survey", trigger: { type: "exit_intent" } };

  await show({ ...base, id: "mc", type: "multiple_choice", question: "Which do you use?", choices: ["Boots", "Jackets, mostly", "Tents"] });
  const dialog = prompt(page).getByRole("dialog");
  await dialog.getByLabel("Tents").check();
  await dialog.getByLabel("Boots").check();
  await page.screenshot({ path: path.join(artifacts, "multiple-choice-mobile.png") });
  const accent = await dialog.getByRole("button", { name: "Send" }).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(accent, "rgb(10, 124, 74)", `Send's background = ${accent}; want the page's --pl-accent`);
  const size = await dialog.getByRole("button", { name: "Send" }).evaluate((b) => getComputedStyle(b).fontSize);
  assert.equal(size, "15px", `Send's font size = ${size}; the host page's button style leaked in`);
  await dialog.getByRole("button", { name: "Send" }).click();
  assert.deepEqual(await done(), [["shown", undefined], ["answered", "Boots|Tents"]]);

  await prompt(page).waitFor({ state: "detached" });
  await show({ ...base, id: "txt", type: "text", question: "Anything else?" });
  await prompt(page).getByRole("textbox", { name: "Anything else?" }).fill("  More colours, please.  ");
  await page.screenshot({ path: path.join(artifacts, "text-mobile.png") });
  await prompt(page).getByRole("button", { name: "Send" }).click();
  assert.deepEqual(await done(), [["shown", undefined], ["answered", "More colours, please."]]);

  await prompt(page).waitFor({ state: "detached" });
  await show({ ...base, id: "nps", type: "nps", question: "How likely are you to recommend us?" });
  assert.equal(await prompt(page).getByRole("group").getByRole("button").count(), 11, "an NPS survey has 11 answers, 0 to 10");
  await page.screenshot({ path: path.join(artifacts, "nps-mobile.png") });
  await prompt(page).getByRole("button", { name: "10 of 10" }).click();
  assert.deepEqual(await done(), [["shown", undefined], ["answered", "10"]]);

  await prompt(page).waitFor({ state: "detached" });
  await show({ id: "chat", kind: "chat", trigger: { type: "idle", seconds: 1 }, message: "Questions?", action: { url: "javascript:alert(1)" } });
  await prompt(page).getByRole("button", { name: "Close" }).click();
  assert.deepEqual(await done(), [["shown", undefined], ["dismissed", undefined]]);
});
