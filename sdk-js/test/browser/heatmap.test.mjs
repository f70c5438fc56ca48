// Heatmap capture in a real browser against the real server: the capture chunk loads only
// for a pageview the rules sample, records rage and dead clicks on the right elements, and
// nothing without consent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, until, TOKEN } from "./harness.mjs";

let env;
before(async () => (env = await setup()));
after(async () => await env?.stop());

// requests records the URLs of the page's requests to the server, and the bodies of its
// capture batches.
function requests(page) {
  const got = { chunk: 0, batches: [] };
  page.on("request", (r) => {
    if (r.url().endsWith("/pl-hm.js")) got.chunk++;
    if (r.url().endsWith("/v1/capture")) got.batches.push(JSON.parse(r.postData() || "{}"));
  });
  return got;
}

async function heatmap(page, band = "desktop", filter = "") {
  const r = await fetch(`${env.api}/api/v1/reports/heatmap?site=test&page=${encodeURIComponent(page)}&band=${band}&from=0${filter}`, {
    headers: { Authorization: "Bearer " + TOKEN },
  });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).data;
}

test("rage and dead clicks land on the right elements; a real link and a DOM change are not dead", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = requests(page);
  await page.goto(env.base + "/t/heat.html");
  await until("the capture chunk to load", () => got.chunk == 1);
  await until("the chunk to start", () => page.evaluate(() => !!window.pathlight.hm));
  // Three fast clicks on a button that does nothing: one rage burst, three dead clicks.
  await page.click("#rage", { clickCount: 1 });
  await page.click("#rage", { clickCount: 1 });
  await page.click("#rage", { clickCount: 1 });
  // A DOM change anywhere within a click's second makes it live: let the rage clicks' second
  // pass first.
  await page.waitForTimeout(1200);
  await page.click("#grow"); // changes the DOM: not dead
  await page.click(".card p", { position: { x: 5, y: 5 } }); // no id: a path selector; dead
  await page.mouse.wheel(0, 1500);
  await page.waitForTimeout(1500); // past the dead-click second of every click
  await page.click("#real"); // navigates: not dead, sent at page hide
  await page.waitForURL("**/t/blank.html");

  const d = await until("the heatmap report to hold the clicks", async () => {
    const d = await heatmap("/t/heat.html");
    return d.clicks >= 6 && d.pageviews >= 1 && d;
  }, 15000);
  const count = (list, sel) => list.find((x) => x.selector == sel)?.count || 0;
  assert.equal(d.clicks, 6, `clicks ${d.clicks}; want 6`);
  assert.deepEqual(d.rage_top, [{ selector: "#rage", count: 1 }], `rage ${JSON.stringify(d.rage_top)}`);
  assert.equal(count(d.dead_top, "#rage"), 3, `dead ${JSON.stringify(d.dead_top)}: want #rage 3 times`);
  assert.equal(count(d.dead_top, "div:nth-of-type(1)>p"), 1, `dead ${JSON.stringify(d.dead_top)}: want the card's paragraph`);
  assert.equal(count(d.dead_top, "#real"), 0, "the real link counted as a dead click");
  assert.equal(count(d.dead_top, "#grow"), 0, "the button that changes the DOM counted as a dead click");
  const real = d.elements.find((e) => e.selector == "#real");
  assert.ok(real && real.clicks == 1, `elements ${JSON.stringify(d.elements)}: want the real link's click recorded`);
  assert.equal(d.band, "desktop");
  assert.ok(d.scroll.length == 21 && d.scroll[0].share == 1, `scroll ${JSON.stringify(d.scroll)}`);
  // The clicks count under the visitor's channel too (a direct visit), and not under another.
  assert.equal((await heatmap("/t/heat.html", "desktop", "&channel=Direct")).clicks, 6);
  assert.equal((await heatmap("/t/heat.html", "desktop", "&channel=Paid%20Social")).clicks, 0);
});

test("a page no capture rule samples never loads the chunk", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = requests(page);
  let hit = 0;
  page.on("requestfinished", (r) => /\/v1\/hit$/.test(r.url()) && hit++);
  await page.goto(env.base + "/t/blank.html");
  await until("the pageview hit", () => hit >= 1);
  await page.click("#outside");
  await page.waitForTimeout(1500);
  assert.equal(got.chunk, 0, "pl-hm.js loaded on a page no rule samples");
  assert.equal(got.batches.length, 0);
});

test("without consent nothing is captured: GPC, a required consent not given, a denial", async () => {
  // Global Privacy Control: the server samples nobody, and the chunk never loads.
  let ctx = await env.context();
  await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
  let page = await ctx.newPage();
  let got = requests(page);
  let hit = 0;
  page.on("requestfinished", (r) => /\/v1\/hit$/.test(r.url()) && hit++);
  await page.goto(env.base + "/t/heat.html");
  await until("the pageview hit", () => hit >= 1);
  await page.click("#rage");
  await page.click("#rage");
  await page.click("#rage");
  await page.waitForTimeout(3500);
  assert.equal(got.chunk, 0, "pl-hm.js loaded under GPC");
  assert.equal(got.batches.length, 0, "capture batches sent under GPC");

  // Consent required and not given: no hit at all, so no sampling.
  ctx = await env.context();
  page = await ctx.newPage();
  got = requests(page);
  await page.goto(env.base + "/t/heat.html?__consent=required");
  await page.click("#rage");
  await page.waitForTimeout(1500);
  assert.equal(got.chunk + got.batches.length, 0, "the chunk loaded or sent before consent");

  // A site that does not ask for consent, the chunk loaded, then the visitor denies: the
  // clicks after the denial are not sent, and nothing waits in storage.
  ctx = await env.context();
  page = await ctx.newPage();
  got = requests(page);
  await page.goto(env.base + "/t/heat.html");
  await until("the capture chunk to load", () => got.chunk == 1);
  await until("the chunk to start", () => page.evaluate(() => !!window.pathlight.hm));
  await page.evaluate(() => window.pathlight("consent", "denied"));
  await page.click("#rage");
  await page.click(".card p");
  await page.waitForTimeout(4500); // past the dead-click second and the two seconds of batching
  await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
  assert.equal(got.batches.length, 0, `capture batches after a denial: ${JSON.stringify(got.batches)}`);
  assert.equal(await page.evaluate(() => localStorage.pl_hq), undefined, "capture batches kept in storage after a denial");
});
