// The visitor id across sites: the page on localhost, the server on 127.0.0.1. The browser keeps
// no cookie of the server's there (its SameSite=Lax cookie is neither set nor sent by a
// cross-site fetch, as where browsers drop third-party cookies), so the snippet's own copy of
// the id, in the page's storage and sent in each hit's body, holds the journey together.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, until } from "./harness.mjs";

let env;
before(async () => (env = await setup({ crossSite: true })));
after(async () => await env?.stop());

// hits records the body and reply of every /v1/hit request of a page.
function hits(page) {
  const got = [];
  page.on("requestfinished", async (r) => {
    if (!/\/v1\/hit$/.test(r.url())) return;
    const res = await r.response();
    got.push({ body: JSON.parse(r.postData() || "{}"), reply: res && res.status() == 200 ? await res.json().catch(() => null) : null });
  });
  return got;
}

const stored = (page) => page.evaluate(() => localStorage.getItem("pl_vid"));

test("page and server on different sites: two pageviews are one visitor's journey", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = hits(page);
  await page.goto(env.crossBase + "/?utm_source=newsletter&utm_medium=email");
  const first = await until("the first reply", () => got.find((h) => h.reply && h.reply.vid));
  const vid = first.reply.vid;
  assert.equal(first.reply.keep_vid, true, "the server did not let the page keep the id");
  assert.equal(await until("the page's copy of the id", () => stored(page)), vid);

  await page.goto(env.crossBase + "/pricing");
  const second = await until("the second pageview's hit", () => got.find((h) => h.reply && h.body.events.some((e) => e.type == "pageview" && e.url.endsWith("/pricing"))));
  assert.equal(second.body.vid, vid, "the second hit did not carry the kept id");
  assert.equal(second.reply.vid, vid, "the server answered another visitor");
  // The journey held without the server's cookie: otherwise this test proves nothing.
  assert.equal(await env.vid(ctx), "", "the browser kept the server's cookie across sites");

  const v = await until("both pageviews on one journey", async () => {
    const v = await env.visitor(vid);
    return v && v.pageviews == 2 && v;
  });
  assert.equal(v.paths["/pricing"], 1, `paths = ${JSON.stringify(v.paths)}`);
});

test("consent denied later: the kept id is cleared and no longer sent", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = hits(page);
  await page.goto(env.crossBase + "/");
  const vid = await until("the page's copy of the id", () => stored(page));
  await page.evaluate(() => window.pathlight("consent", "denied"));
  assert.equal(await stored(page), null, "the id stayed in storage after consent was denied");
  await page.evaluate(() => window.pathlight("event", "after_denial"));
  const h = await until("the hit after the denial", () => got.find((h) => h.body.events.some((e) => e.name == "after_denial")));
  assert.equal(h.body.consent, "denied");
  assert.equal(h.body.vid, undefined, `a hit without consent carried the id ${h.body.vid}`);
  assert.equal(h.reply && h.reply.keep_vid, false, "the server let a visitor without consent keep an id");
  assert.equal(await stored(page), null, "an id was stored again without consent");
  assert.ok(vid, "no id before the denial");
});
