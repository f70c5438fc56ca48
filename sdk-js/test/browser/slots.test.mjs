// Decisions in a real browser: the variant for a paid-social visitor with no flash of the
// default, the default for a direct visitor, and the default within the timeout when the
// server is dead.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, deadServers, until } from "./harness.mjs";

let env;
let dead;
before(async () => {
  env = await setup();
  dead = await deadServers();
});
after(async () => {
  await dead?.close();
  await env?.stop();
});

// watchHero records, from before the page's first script runs, every moment the hero slot
// could be seen showing its default content: checked at every animation frame (before each
// paint) and after every DOM mutation. It also records when pl.js started (its first
// mutation) and when the hero first became visible.
const watchHero = () => {
  const w = (window.__hero = { defaultSeen: [], visibleAt: -1, plAt: -1, frames: 0 });
  const look = (when) => {
    const el = document.querySelector('[data-pl-slot="hero"]');
    if (w.plAt < 0 && window.pathlight && window.pathlight.v) w.plAt = performance.now();
    if (!el) return;
    const visible = getComputedStyle(el).visibility == "visible";
    if (visible && w.visibleAt < 0) w.visibleAt = performance.now();
    if (visible && !el.querySelector("#variant")) w.defaultSeen.push(when + "@" + Math.round(performance.now()));
  };
  const frame = () => {
    w.frames++;
    look("frame");
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  new MutationObserver(() => look("mutation")).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
};

test("a paid-social visitor sees the variant and never the default", async () => {
  const ctx = await env.context();
  await ctx.addInitScript(watchHero);
  const page = await ctx.newPage();
  const decisions = [];
  await page.exposeFunction("__decision", (d) => decisions.push(d));
  await page.addInitScript(() => document.addEventListener("pathlight:decision", (e) => window.__decision(e.detail)));
  await page.goto(env.base + "/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring");
  await page.waitForSelector("#variant", { state: "visible" });
  const w = await page.evaluate(() => window.__hero);
  assert.ok(w.frames > 0, "no animation frame observed");
  assert.deepEqual(w.defaultSeen, [], `the default hero was visible at ${w.defaultSeen.join(", ")}; want never`);
  const hero = decisions.find((d) => d.slot == "hero");
  assert.equal(hero && hero.variant, "paid_social_hero", `pathlight:decision for hero = ${JSON.stringify(hero)}; want variant paid_social_hero`);
  assert.equal(await page.getAttribute('[data-pl-slot="hero"]', "data-pl-variant"), "paid_social_hero");
});

test("a direct visitor sees the default", async () => {
  const ctx = await env.context();
  await ctx.addInitScript(watchHero);
  const page = await ctx.newPage();
  await page.goto(env.base + "/");
  await page.waitForFunction(() => document.querySelector('[data-pl-slot="hero"]').dataset.plVariant !== undefined);
  const text = await page.textContent('[data-pl-slot="hero"] h1');
  assert.equal(text, "The spring collection is here", `hero text = ${JSON.stringify(text)}; want the page's default`);
  assert.equal(await page.isVisible('[data-pl-slot="hero"] h1'), true, "the default hero is not visible");
  assert.equal(await page.getAttribute('[data-pl-slot="hero"]', "data-pl-variant"), "default");
});

// The snippet's own timeout runs from when pl.js starts; a loaded machine may run a timer or a
// frame late, hence the slack.
const SLACK = 500;

for (const kind of ["refused", "hanging"]) {
  test(`a dead API (${kind}) shows the default within the timeout`, async () => {
    const ctx = await env.context();
    await ctx.addInitScript(watchHero);
    const page = await ctx.newPage();
    const timeout = 400; // the default
    // Without the inline style, only the snippet hides the slot.
    await page.goto(`${env.base}/?__nohide&__api=${encodeURIComponent(dead[kind])}&__timeout=default`);
    await page.waitForSelector('[data-pl-slot="hero"] h1', { state: "visible", timeout: 5000 });
    const w = await page.evaluate(() => window.__hero);
    assert.ok(w.plAt > 0, "pl.js never ran");
    const after = Math.round(w.visibleAt - w.plAt);
    assert.ok(after <= timeout + SLACK, `the hero became visible ${after} ms after pl.js started; want at most ${timeout} ms (+${SLACK} ms slack)`);
    assert.equal(await page.textContent('[data-pl-slot="hero"] h1'), "The spring collection is here");
  });
}

test("a dead server that cannot even serve pl.js: the inline style's own timer shows the default", async () => {
  const ctx = await env.context();
  await ctx.addInitScript(watchHero);
  const page = await ctx.newPage();
  await page.goto(`${env.base}/?__src=${encodeURIComponent(dead.refused)}`);
  await page.waitForSelector('[data-pl-slot="hero"] h1', { state: "visible", timeout: 5000 });
  const w = await page.evaluate(() => window.__hero);
  assert.equal(w.plAt, -1, "pl.js ran; want it unreachable");
  // The inline timer (1000 ms) and nothing else reveals it: not before, and not much after
  // on however busy a machine (waitForSelector above bounds it at 5 s in any case).
  assert.ok(w.visibleAt >= 950 && w.visibleAt <= 1000 + 4 * SLACK, `the hero became visible at ${Math.round(w.visibleAt)} ms; want about 1000 ms (the inline timer)`);
});
