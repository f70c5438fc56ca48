// Privacy in a real browser against the real server: Global Privacy Control and the site's
// consent mode. Before consent there is no storage and no identifier; with GPC or a denial,
// no cookie and no visitor state.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, until } from "./harness.mjs";

let env;
before(async () => (env = await setup()));
after(async () => await env?.stop());

// hits records the body and reply of every /v1/hit and /v1/beacon request of a page.
function hits(page) {
  const got = [];
  page.on("requestfinished", async (r) => {
    if (!/\/v1\/(hit|beacon)$/.test(r.url())) return;
    const res = await r.response();
    got.push({ body: JSON.parse(r.postData() || "{}"), reply: res && res.status() == 200 ? await res.json().catch(() => null) : null });
  });
  return got;
}

const storageKeys = (page) => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("pl_")));

test("Global Privacy Control: consent denied, no cookie, no storage, no visitor state", async () => {
  const ctx = await env.context();
  await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
  // A visitor id kept from before GPC was turned on is forgotten, not sent.
  await ctx.addInitScript(() => localStorage.getItem("pl_vid") || sessionStorage.getItem("planted") || (localStorage.setItem("pl_vid", "0123456789abcdef0123456789abcdef"), sessionStorage.setItem("planted", "1")));
  const page = await ctx.newPage();
  const got = hits(page);
  await page.goto(env.base + "/?utm_source=facebook&utm_medium=paid_social");
  await until("the pageview hit", () => got.length >= 1);
  // The site's own call cannot override GPC.
  await page.evaluate(() => window.pathlight("consent", "granted"));
  await page.evaluate(() => window.pathlight("event", "gpc_event"));
  await until("the event hit", () => got.length >= 2);
  for (const h of got) assert.equal(h.body.consent, "denied", `hit consent = ${h.body.consent}; want denied`);
  for (const h of got) assert.equal(h.body.vid, undefined, `a GPC visitor's hit carried the visitor id ${h.body.vid}`);
  assert.equal(got[0].body.slots, undefined, "a GPC visitor's hit asked for slot decisions");
  assert.equal(await page.isVisible('[data-pl-slot="hero"] h1'), true, "the default hero is hidden");
  assert.equal(await env.vid(ctx), "", "the server set a pl_vid cookie");
  assert.deepEqual(await storageKeys(page), [], "the snippet stored something");
  for (const h of got) {
    const vid = h.reply && h.reply.vid;
    if (vid) assert.equal(await env.visitor(vid), null, `the server keeps state for visitor ${vid}`);
  }
});

test("consent required: nothing is sent or stored until granted, then the page's events go", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = hits(page);
  await page.goto(env.base + "/pricing?__consent=required");
  await page.evaluate(() => window.pathlight("event", "before_consent"));
  // Give the snippet every chance to misbehave, then look.
  await page.waitForTimeout(1000);
  assert.equal(got.length, 0, `${got.length} hits before consent; want none`);
  assert.deepEqual(await storageKeys(page), [], "storage used before consent");
  assert.equal(await env.vid(ctx), "", "a cookie before consent");
  assert.equal(await page.isVisible('[data-pl-slot="pricing_offer"] p'), true, "slots stay hidden while consent is pending");

  await page.evaluate(() => window.pathlight("consent", "granted"));
  await until("the first hit", () => got.length >= 1);
  assert.equal(got[0].body.consent, "granted");
  assert.deepEqual(got[0].body.events.map((e) => e.type + (e.name ? ":" + e.name : "")), ["pageview", "event:before_consent"]);
  const vid = await until("the pl_vid cookie", () => env.vid(ctx));
  const v = await until("the visitor", () => env.visitor(vid));
  assert.equal(v.pageviews, 1);
  assert.equal(v.events.before_consent, 1);

  // The grant is remembered: the next page is tracked (and personalized) at once.
  await page.goto(env.base + "/pricing?__consent=required");
  await until("the second pageview", async () => (await env.visitor(vid)).pageviews == 2);
  assert.equal(got.at(-1).body.consent, "granted");
});

test("consent required, then denied: no cookie, no storage, no visitor state", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = hits(page);
  await page.goto(env.base + "/?__consent=required");
  await page.evaluate(() => window.pathlight("identify", "user-denied", { plan: "pro" }));
  await page.evaluate(() => window.pathlight("consent", "denied"));
  await until("the hit", () => got.length >= 1);
  assert.equal(got[0].body.consent, "denied");
  assert.ok(!got[0].body.events.some((e) => e.type == "identify"), "an identify event was sent without consent");
  assert.equal(await env.vid(ctx), "", "the server set a pl_vid cookie");
  assert.deepEqual(await storageKeys(page), [], "the snippet stored something");
  const vid = got[0].reply && got[0].reply.vid;
  if (vid) assert.equal(await env.visitor(vid), null, `the server keeps state for visitor ${vid}`);
});

test("consent withdrawn in the page: one request names the visitor, then nothing does", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  // Every hit in order, with the cookie it carried and the cookie its reply set.
  const sent = [];
  page.on("requestfinished", async (r) => {
    if (!/\/v1\/(hit|beacon)$/.test(r.url())) return;
    const h = { body: JSON.parse(r.postData() || "{}"), cookie: "", setCookie: "" };
    sent.push(h);
    h.cookie = (await r.allHeaders()).cookie || "";
    h.setCookie = (await (await r.response())?.allHeaders())?.["set-cookie"] || "";
    h.done = true;
  });
  // Consent implied (the site does not ask): the visitor is tracked and keeps an id.
  await page.goto(env.base + "/pricing");
  const vid = await until("the pl_vid cookie", () => env.vid(ctx));
  assert.equal(await until("the page's copy of the id", () => page.evaluate(() => localStorage.getItem("pl_vid"))), vid);
  await until("the visitor", () => env.visitor(vid));
  const before = sent.length;
  assert.ok(sent.every((h) => h.body.consent === undefined), "a hit before the refusal said consent");

  await page.evaluate(() => window.pathlight("consent", "denied"));
  const bye = await until("the refusing hit", () => sent.find((h) => h.body.consent == "denied" && h.done));
  assert.equal(sent.indexOf(bye), before, "the refusal was not the next request");
  assert.equal(bye.body.vid, vid, `the refusing hit named ${bye.body.vid}; want the visitor ${vid}`);
  assert.match(bye.cookie, new RegExp("(^|; )pl_vid=" + vid + "($|;)"), "the refusing hit went without the visitor's cookie");
  assert.match(bye.setCookie, /(^|\n)pl_vid=;[^\n]*expires=[^\n]*2009/i, `the reply did not expire the cookie: ${JSON.stringify(bye.setCookie)}`);
  assert.equal(await env.vid(ctx), "", "the cookie outlived the refusal");
  assert.deepEqual(await storageKeys(page), [], "the snippet kept something after the refusal");

  // Later hits name nobody, on this page and the next, where the site says no again (before
  // the snippet loads, as a consent banner that remembers the answer does).
  await page.evaluate(() => window.pathlight("event", "after_refusal"));
  await ctx.addInitScript(() => (window.pathlight = { q: [["consent", "denied"]] }));
  await page.goto(env.base + "/");
  await page.evaluate(() => window.pathlight("event", "next_page"));
  await until("the later hits", () => sent.some((h) => h.done && h.body.events?.some((e) => e.name == "next_page")));
  const later = sent.slice(before + 1);
  assert.ok(later.length >= 2, `${later.length} hits after the refusal; want the event and the next page's`);
  for (const h of later) {
    assert.equal(h.body.consent, "denied");
    assert.equal(h.body.vid, undefined, `a hit after the refusal carried the id ${h.body.vid}`);
    assert.doesNotMatch(h.cookie, /pl_vid=/, "a hit after the refusal carried the cookie");
  }
  assert.equal(sent.filter((h) => h.body.vid == vid && h.body.consent == "denied").length, 1, "the visitor was named more than once while refusing");
});

test("the demo's signup and checkout forms put no personal data into a tracked URL", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/signup");
  const vid = await until("the pl_vid cookie", () => env.vid(ctx));
  await page.fill("#first", "Alex");
  await page.fill("#email", "alex.hiker@example.com");
  await Promise.all([page.waitForURL(env.base + "/thanks"), page.getByRole("button", { name: "Join" }).click()]);
  await page.goto(env.base + "/checkout");
  await Promise.all([page.waitForURL(env.base + "/checkout/pay"), page.click("text=Continue to payment")]);
  await page.evaluate(() => window.pathlight("event", "settled"));
  const v = await until("the signup, identify and shipping events", async () => {
    const v = await env.visitor(vid);
    return v && v.events.settled && v.events.add_shipping_info && v.user_id && v;
  });
  assert.equal(v.events.signup, 1, `events.signup = ${v.events.signup}; want 1`);
  assert.equal(v.user_id, "demo-alexhikerexamplecom", `user_id = ${v.user_id}; want the demo's id, not the email`);
  assert.equal(v.traits.first_name, "Alex");
  const urls = (await env.events()).filter((e) => e.vid == vid).flatMap((e) => [e.url, e.ref]).filter(Boolean);
  const leaks = urls.filter((u) => /alex|example\.com|ridge|hiker/i.test(u));
  assert.deepEqual(leaks, [], "tracked URLs carry personal data");
});
